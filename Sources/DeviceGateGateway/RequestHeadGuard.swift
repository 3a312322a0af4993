import DeviceGateKit
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Looks at each request head as the HTTP/1 decoder produced it, before HTTPTypes hides what
/// matters: the raw target form and the body's framing headers.
///
/// HTTPTypes turns `GET http://evil.example/x` into a plain path `/x`, so by the time a request
/// reaches the responder an absolute-form or authority-form target can no longer be told apart.
/// And a `Transfer-Encoding` other than a single `chunked`, or several `Content-Length` values,
/// frame a body that a server behind the gateway may read differently (request smuggling). Such
/// a request is marked with a header the admission core refuses (400), and `Connection: close`
/// so that nothing else is read from the connection. An agent cannot forge the marker to any
/// effect: it can only get itself refused.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    static let marker = "x-devicegate-refused"
    private let overloaded: Bool

    init(overloaded: Bool = false) { self.overloaded = overloaded }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        head.headers.remove(name: Self.marker)
        if let refusal = overloaded ? .overloaded : Self.refusal(uri: head.uri, headers: head.headers) {
            head.headers.add(name: Self.marker, value: refusal.rawValue)
            if !head.uri.hasPrefix("/") { head.uri = "/" }
            if refusal.closesConnection { head.headers.replaceOrAdd(name: "connection", value: "close") }
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    static func refusal(uri: String, headers: HTTPHeaders) -> TransportRefusal? {
        if !uri.hasPrefix("/") { return uri.hasPrefix("*") ? .asteriskForm : .absoluteForm }
        let encodings = headers["transfer-encoding"]
        if !encodings.isEmpty {
            let values = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace().lowercased() }
            guard values == ["chunked"], headers["content-length"].isEmpty else { return .transferEncoding }
        }
        let lengths = headers["content-length"].flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace() }
        if !lengths.isEmpty {
            guard Set(lengths).count == 1, let only = lengths.first, !only.isEmpty, only.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                only.utf8.count <= 18
            else { return .contentLength }
        }
        return nil
    }

    /// Reads (and removes) the marker from a converted request head.
    static func refusal(taking fields: inout HTTPFields) -> TransportRefusal? {
        let name = HTTPField.Name(marker)!
        guard let value = fields[name] else { return nil }
        fields[name] = nil
        return TransportRefusal(rawValue: value) ?? .absoluteForm
    }
}
