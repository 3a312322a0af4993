import DeviceGateKit
import HTTPTypes
import Hummingbird
import NIOCore

/// The gateway's HTTP door: hands each request to the ``Gatekeeper`` (which decides, records
/// and forwards) and renders what comes back, an upstream answer streamed with the token kept
/// out of it, or a ``Denial`` as JSON.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayContext

    let keeper: Gatekeeper

    public func respond(to request: Request, context: GatewayContext) async throws -> Response {
        var head = request.head
        let refusal = RequestHeadGuard.refusal(taking: &head.headerFields)
        do throws(Denial) {
            let answer = try await keeper.call(head, refusal: refusal, body: request.body)
            return Response(
                status: answer.status, headers: answer.headers,
                body: ResponseBody(contentLength: answer.contentLength) { writer in
                    try await answer.relay({ try await writer.write($0) }, end: { try await writer.finish(nil) })
                })
        } catch {
            return error.response()
        }
    }
}
