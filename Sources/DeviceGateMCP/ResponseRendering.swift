import DeviceGateKit
import HTTPTypes
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An upstream's answer as a tool result: read through the access core's redacting relay up to
/// the cap, then shown as text (JSON pretty-printed) when it is text, else as base64.
enum ResponseRendering {
    /// Stops the relay once the cap is reached: the rest is not read.
    struct CapReached: Error {}

    static func render(_ answer: ForwardedResponse, cap: Int) async -> ToolResult {
        var body = Data()
        var truncated = false
        do {
            try await answer.relay { chunk in
                let room = cap - body.count
                if chunk.readableBytes > room {
                    body.append(contentsOf: chunk.readableBytesView.prefix(room))
                    truncated = true
                    throw CapReached()
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
        } catch is CapReached {
        } catch {
            return .failure(
                "upstream_failed", "the upstream's answer broke off after \(body.count) bytes",
                extra: ["status": .int(Int64(answer.status.code))])
        }
        var headers: [String: JSONValue] = [:]
        for field in answer.headers {
            let name = field.name.canonicalName
            headers[name] = .string(headers[name]?.string.map { $0 + ", " + field.value } ?? field.value)
        }
        var structured: [String: JSONValue] = [
            "status": .int(Int64(answer.status.code)), "headers": .object(headers), "bytes": .int(Int64(body.count)),
            "truncated": .bool(truncated), "max_response_bytes": .int(Int64(cap)),
        ]
        let contentType = answer.headers[.contentType]?.lowercased() ?? ""
        var lines = ["HTTP \(answer.status.code) \(answer.status.reasonPhrase)"]
        lines += answer.headers.map { "\($0.name.canonicalName): \($0.value)" }
        if let text = text(body, contentType: contentType, truncated: truncated) {
            structured["body"] = .string(text)
            lines += ["", text]
        } else {
            structured["body_base64"] = .string(body.base64EncodedString())
            lines += [
                "", "(\(body.count) bytes of \(contentType.isEmpty ? "binary data" : contentType), in structuredContent.body_base64)",
            ]
        }
        if truncated { lines += ["", "[cut at \(cap) bytes (max_response_bytes); the rest was not read]"] }
        return ToolResult(text: lines.joined(separator: "\n"), structured: structured)
    }

    /// The body as text if it is text: JSON pretty-printed when whole; a cut answer loses at
    /// most an incomplete UTF-8 sequence at its end.
    static func text(_ body: Data, contentType: String, truncated: Bool) -> String? {
        let json = contentType.hasPrefix("application/json") || contentType.contains("+json")
        if json, !truncated, let value = JSONValue.parse(body) { return value.pretty() }
        let textual =
            contentType.isEmpty || json || contentType.hasPrefix("text/")
            || ["xml", "javascript", "x-www-form-urlencoded", "yaml", "csv"].contains(where: contentType.contains)
        guard textual else { return nil }
        for drop in 0...(truncated ? 3 : 0) where drop <= body.count {
            if let text = String(data: body.dropLast(drop), encoding: .utf8) { return text }
        }
        return nil
    }
}
