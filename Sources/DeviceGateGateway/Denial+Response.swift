import DeviceGateKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Denial {
    /// The JSON answer an agent reads: `{"error": …, "reason": …, "profile": …}`.
    func response() -> Response {
        var body: [String: Any] = ["error": error, "reason": reason]
        if let profile { body["profile"] = profile }
        if let retryAfter { body["retry_after"] = retryAfter }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"devicegate\"" }
        if closeConnection { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
