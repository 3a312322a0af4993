import DeviceGateKit
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where `devicegate token` and `exec` ask a running `serve` for a person's approval of a raw
/// token (`token_access = "approve"`): Telegram allows one poller per bot, and `serve` is it, so
/// the question and its answer go through `serve`'s own approval desk.
///
/// A Unix socket in the data directory, bound 0600 inside a 0700 directory and renamed into place
/// (``UnixSocketPlacement``): only this user (who can read the store anyway) can ask. One route,
/// `POST /raw-token` with `{"profile": …, "requester": …}`; the answer is JSON, preceded by a
/// space every few seconds while the person has not decided, so no client read timeout fires.
struct RawTokenApprovals: Sendable {
    let placement: UnixSocketPlacement
    let profiles: [Profile]
    let approvals: ApprovalDesk
    let time: any TimeSource

    /// What a client sends.
    struct Ask: Decodable {
        let profile: String
        let requester: String
    }

    /// Seconds between the spaces that keep a waiting client's read timeout from firing.
    static let keepAlive: Double = 5

    func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.post("/raw-token") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 4096)
            guard let ask = try? JSONDecoder().decode(Ask.self, from: Data(buffer: body)), ask.requester.utf8.count <= 200 else {
                return Self.json(.badRequest, ["error": "bad_request", "reason": "send {\"profile\": …, \"requester\": …}"])
            }
            guard let profile = profiles.first(where: { $0.name == ask.profile }), profile.gateway?.tokenAccess == .approve else {
                return Self.json(
                    .forbidden,
                    ["error": "not_approvable", "reason": "profile \(ask.profile) does not have token_access = \"approve\" here"])
            }
            let now = time.now()
            let timeout = Double(profile.gateway?.approval.timeout ?? ApprovalPolicy.defaultTimeout)
            let held = ApprovalRequest(
                profile: profile.name, agent: ask.requester, rule: "token_access = \"approve\"",
                subject: .rawToken(requester: ask.requester), heldAt: now, expiresAt: now.addingTimeInterval(timeout))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    let decided = NIOLockedValueBox<ApprovalVerdict?>(nil)
                    let approvals = self.approvals
                    let deciding = Task {
                        let verdict = await approvals.hold(held)
                        if verdict.isApproved { await approvals.conclude(held, verdict, result: "the raw token was handed out") }
                        decided.withLockedValue { $0 = verdict }
                    }
                    var waited = 0.0
                    do {
                        while decided.withLockedValue({ $0 }) == nil {
                            try await Task.sleep(for: .milliseconds(200))
                            waited += 0.2
                            if waited >= Self.keepAlive {
                                waited = 0
                                try await writer.write(ByteBuffer(string: " "))
                            }
                        }
                    } catch {
                        // The asker left (or the server stops): the question is withdrawn and its
                        // message edited, rather than left for the person to answer for nobody.
                        deciding.cancel()
                        throw error
                    }
                    await deciding.value
                    let verdict = decided.withLockedValue { $0 }
                    var answer: [String: JSONValue] = ["approved": .bool(verdict?.isApproved ?? false)]
                    if let verdict, !verdict.isApproved { answer["error"] = .string(verdict.error) }
                    let data = JSONValue.object(answer).encoded()
                    try await writer.write(ByteBuffer(bytes: data))
                    try await writer.finish(nil)
                })
        }
        let placement = self.placement
        return Application(
            router: router, configuration: .init(address: .unixDomainSocket(path: placement.bindPath), serverName: "devicegate-approvals"),
            onServerRunning: { channel in
                do { try placement.publish() } catch {
                    logger.critical("\(error)")
                    try? await channel.close()
                }
            },
            logger: logger)
    }

    static func json(_ status: HTTPResponse.Status, _ fields: [String: String]) -> Response {
        let data = JSONValue.object(fields.mapValues(JSONValue.string)).encoded()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
