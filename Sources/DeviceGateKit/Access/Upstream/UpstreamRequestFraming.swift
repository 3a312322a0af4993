import NIOHTTP1

/// How a request body ends on the wire. The upstream must read exactly the body and nothing
/// after it as a request of its own: a body sent without framing, or longer than its
/// `Content-Length`, would be read as further requests on the same connection (smuggled past
/// the policy, and answered into the next caller's exchange). So the pool checks every body
/// part against the head it wrote.
enum UpstreamRequestFraming {
    /// No body may follow (no `Content-Length`, no chunking, or `TRACE`).
    case none
    case length(Int)
    case chunked
    /// `Content-Length` or `Transfer-Encoding` the pool cannot vouch for.
    case invalid

    /// What NIO's request encoder will put on the wire for `head`.
    init(_ head: HTTPRequestHead) {
        // The encoder drops both framing headers for TRACE.
        guard head.method != .TRACE else {
            self = .none
            return
        }
        let lengths = head.headers["content-length"]
        if !lengths.isEmpty {
            guard lengths.count == 1, let value = lengths.first, !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let length = Int(value)
            else {
                self = .invalid
                return
            }
            self = .length(length)
            return
        }
        let encodings = head.headers["transfer-encoding"]
        if !encodings.isEmpty {
            self = encodings.count == 1 && encodings[0].lowercased() == "chunked" ? .chunked : .invalid
            return
        }
        // Without either header the encoder chunks only these methods' bodies.
        self = [.POST, .PUT, .PATCH].contains(head.method) ? .chunked : .none
    }
}

extension HTTPRequestHead {
    /// Adds the framing for a request body: `Content-Length` when its length is known,
    /// `chunked` when not, and `Content-Length: 0` for a POST, PUT or PATCH without one, as
    /// servers expect. The pool refuses body bytes a head does not frame.
    ///
    /// - Parameters:
    ///   - present: whether a body follows (even an empty one with a known length).
    ///   - length: its length, if announced.
    public mutating func frameBody(present: Bool, length: Int?) {
        headers.remove(name: "content-length")
        headers.remove(name: "transfer-encoding")
        if present, let length {
            headers.add(name: "Content-Length", value: String(length))
        } else if present {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else if [.POST, .PUT, .PATCH].contains(method) {
            headers.add(name: "Content-Length", value: "0")
        }
    }
}
