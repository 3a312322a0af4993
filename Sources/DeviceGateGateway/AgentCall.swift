import DeviceGateKit
import HTTPTypes
import NIOCore
import NIOHTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A request the event loop could not answer alone, answered by a task: the ``Gatekeeper``
/// decides (fetching what the synchronous pass lacked, holding the call for a person when a rule
/// says so) and forwards, and the answer is written back through the agent's channel, each part
/// once the one before it is on its way, so a slow agent slows the upstream down rather than
/// filling memory.
struct AgentCall: Sendable {
    let keeper: Gatekeeper
    let channel: any Channel

    /// Decides and forwards a call to a profile.
    /// - Parameters:
    ///   - found: what the event loop's synchronous pass already found (and counted).
    ///   - audit: the audit record the pass began.
    func answer(
        _ head: HTTPRequest, refusal: TransportRefusal?, body: RequestBodyStream,
        found: AdmissionCore.Lookups = AdmissionCore.Lookups(), audit: [String: AuditValue]? = nil
    ) async {
        let answer: ForwardedResponse
        do {
            answer = try await keeper.call(
                head, refusal: refusal, body: body, caller: ConnectionPresence(channel: channel), found: found, audit: audit)
        } catch {
            await write(error)
            return
        }
        var fields = answer.headers
        if let length = answer.contentLength { fields[.contentLength] = String(length) }
        channel.write(HTTPResponsePart.head(HTTPResponse(status: answer.status, headerFields: fields)), promise: nil)
        do {
            try await answer.relay(
                { try await channel.writeAndFlush(HTTPResponsePart.body($0)).get() },
                end: { try await channel.writeAndFlush(HTTPResponsePart.end(nil)).get() })
        } catch {
            // Cut off mid-answer (the upstream or the agent failed): the agent must not take a
            // short body for a whole one, so the connection ends here.
            try? await channel.close()
        }
    }

    /// Serves a mounted endpoint (`/mcp`) to an agent with a valid key.
    func serve(_ endpoint: any GatewayEndpoint, head: HTTPRequest, refusal: TransportRefusal?, body: RequestBodyStream) async {
        do throws(Denial) {
            if let refusal {
                var denial = Denial(status: .badRequest, error: "bad_request", profile: nil, reason: refusal.reason, audited: false)
                denial.closeConnection = refusal.closesConnection
                throw denial
            }
            let agent = try await keeper.identify(head, endpoint: endpoint.path)
            var bytes = ByteBuffer()
            do {
                for try await part in body {
                    guard bytes.readableBytes + part.readableBytes <= endpoint.maxBodyBytes else { throw EndpointBodyTooLarge() }
                    bytes.writeImmutableBuffer(part)
                }
            } catch {
                var denial = Denial(
                    status: .contentTooLarge, error: "too_large", profile: nil, reason: "the body exceeds \(endpoint.maxBodyBytes) bytes",
                    audited: false)
                denial.closeConnection = true
                throw denial
            }
            let answer = await endpoint.respond(to: head, body: Data(bytes.readableBytesView), agent: agent)
            var fields = answer.headers
            fields[.contentLength] = String(answer.body.count)
            channel.write(HTTPResponsePart.head(HTTPResponse(status: answer.status, headerFields: fields)), promise: nil)
            channel.write(HTTPResponsePart.body(ByteBuffer(bytes: answer.body)), promise: nil)
            try? await channel.writeAndFlush(HTTPResponsePart.end(nil)).get()
        } catch {
            await write(error)
        }
    }

    private struct EndpointBodyTooLarge: Error {}

    /// Writes a refusal the ``Gatekeeper`` has already recorded and counted.
    func write(_ denial: Denial) async {
        let (head, body) = denial.rendered()
        channel.write(HTTPResponsePart.head(head), promise: nil)
        channel.write(HTTPResponsePart.body(body), promise: nil)
        try? await channel.writeAndFlush(HTTPResponsePart.end(nil)).get()
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
