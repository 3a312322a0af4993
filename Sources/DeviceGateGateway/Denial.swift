import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A refusal the agent can read: a status and a JSON body that says which profile and why.
struct Denial: Error {
    let status: HTTPResponse.Status
    let error: String
    let profile: String?
    let reason: String
    var retryAfter: Int?
    /// For the audit log and the breaker.
    var audited = true

    func response() -> Response {
        var body: [String: Any] = ["error": error, "reason": reason]
        if let profile { body["profile"] = profile }
        if let retryAfter { body["retry_after"] = retryAfter }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"devicegate\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
