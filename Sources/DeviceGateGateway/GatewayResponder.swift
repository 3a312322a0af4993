import DeviceGateKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The gateway's HTTP door: hands each request to the ``Gatekeeper`` (which decides, records
/// and forwards) and renders what comes back, an upstream answer streamed with the token kept
/// out of it, or a ``Denial`` as JSON. A request for a mounted ``GatewayEndpoint``'s path goes
/// to that endpoint instead, once its agent key checked.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayContext

    let keeper: Gatekeeper
    var endpoints: [any GatewayEndpoint] = []

    public func respond(to request: Request, context: GatewayContext) async throws -> Response {
        var head = request.head
        let refusal = RequestHeadGuard.refusal(taking: &head.headerFields)
        let path = head.path.map { String($0.prefix { $0 != "?" }) }
        if let endpoint = endpoints.first(where: { $0.path == path }) {
            return await serve(endpoint, head: head, refusal: refusal, body: request.body)
        }
        do throws(Denial) {
            let answer = try await keeper.call(
                head, refusal: refusal, body: request.body, caller: ConnectionPresence(channel: context.channel))
            return Response(
                status: answer.status, headers: answer.headers,
                body: ResponseBody(contentLength: answer.contentLength) { writer in
                    try await answer.relay({ try await writer.write($0) }, end: { try await writer.finish(nil) })
                })
        } catch {
            return error.response()
        }
    }

    private func serve(_ endpoint: any GatewayEndpoint, head: HTTPRequest, refusal: TransportRefusal?, body: RequestBody) async -> Response
    {
        do throws(Denial) {
            if let refusal {
                var denial = Denial(status: .badRequest, error: "bad_request", profile: nil, reason: refusal.reason, audited: false)
                denial.closeConnection = refusal.closesConnection
                throw denial
            }
            let agent = try await keeper.identify(head, endpoint: endpoint.path)
            let bytes: ByteBuffer
            do { bytes = try await body.collect(upTo: endpoint.maxBodyBytes) } catch {
                var denial = Denial(
                    status: .contentTooLarge, error: "too_large", profile: nil, reason: "the body exceeds \(endpoint.maxBodyBytes) bytes",
                    audited: false)
                denial.closeConnection = true
                throw denial
            }
            let answer = await endpoint.respond(to: head, body: Data(buffer: bytes), agent: agent)
            return Response(status: answer.status, headers: answer.headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        } catch {
            return error.response()
        }
    }
}

/// The agent's connection as ``CallerPresence``: gone when ``HangUpWatch`` sees it end.
struct ConnectionPresence: CallerPresence {
    let channel: any Channel

    func whenGone(_ action: @escaping @Sendable () -> Void) {
        channel.pipeline.handler(type: HangUpWatch.self).whenComplete { found in
            switch found {
            case .success(let watch): watch.gone.futureResult.whenComplete { _ in action() }
            case .failure: action()  // the pipeline is already gone
            }
        }
    }
}
