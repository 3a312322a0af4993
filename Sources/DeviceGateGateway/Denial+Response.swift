import DeviceGateKit
import HTTPTypes
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Denial {
    /// The JSON answer an agent reads: `{"error": …, "profile": …, "reason": …, "retry_after": …}`,
    /// keys sorted, with its head: `Retry-After`, a bearer challenge on 401, and
    /// `Connection: close` when the request's framing cannot be trusted.
    func rendered() -> (head: HTTPResponse, body: ByteBuffer) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Rendered(error: error, profile: profile, reason: reason, retry_after: retryAfter))) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json", .contentLength: String(data.count)]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"devicegate\"" }
        if closeConnection { headers[.connection] = "close" }
        return (HTTPResponse(status: status, headerFields: headers), ByteBuffer(bytes: data))
    }

    private struct Rendered: Encodable {
        let error: String
        let profile: String?
        let reason: String
        let retry_after: Int?
    }
}
