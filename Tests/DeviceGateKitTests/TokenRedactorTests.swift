import Foundation
import Testing

@testable import DeviceGateKit

@Suite struct TokenRedactorTests {
    let token = "eyJhbGciOi.J9-payload_with/slash+plus=="

    func run(_ body: [UInt8], chunk: Int) -> ([UInt8], Int) {
        var redactor = TokenRedactor(tokens: [Secret(token)])
        var out: [UInt8] = []
        var index = 0
        while index < body.count {
            out += redactor.feed(body[index..<min(body.count, index + chunk)])
            index += chunk
        }
        out += redactor.finish()
        return (out, redactor.redactions)
    }

    @Test func findsTheTokenWhereverTheChunksSplitIt() {
        let body = Array("head \(token) middle \(token)".utf8) + Array("tail".utf8)
        for chunk in 1...body.count {
            let (out, count) = run(body, chunk: chunk)
            #expect(out.count == body.count, "chunk \(chunk)")
            #expect(!String(decoding: out, as: UTF8.self).contains(token), "chunk \(chunk)")
            #expect(count == 2, "chunk \(chunk)")
        }
    }

    @Test func findsJSONEscapedAndPercentEncodedCopies() {
        let escaped = token.replacingOccurrences(of: "/", with: "\\/")
        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))!
        let body = Array("{\"a\":\"\(escaped)\",\"u\":\"https://x/?t=\(encoded)\"}".utf8)
        let (out, count) = run(body, chunk: 7)
        let text = String(decoding: out, as: UTF8.self)
        #expect(!text.contains(escaped) && !text.contains(encoded) && count == 2)
        #expect(TokenRedactor(tokens: [Secret(token)]).contains("Bearer \(token)"))
        #expect(!TokenRedactor(tokens: [Secret(token)]).contains("Bearer something-else"))
    }

    @Test func leavesOtherBytesAlone() {
        let body = Array((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let (out, count) = run(body, chunk: 333)
        #expect(out == body && count == 0)
    }
}
