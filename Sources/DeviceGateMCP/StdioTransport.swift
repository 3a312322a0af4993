import Dispatch

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// MCP's stdio transport: newline-delimited JSON-RPC on stdin and stdout, and nothing else on
/// stdout (every log line and notifier goes to stderr). The agent runtime starts
/// `devicegate mcp` and closes stdin to end it.
public struct StdioTransport: Sendable {
    let input: Int32
    let output: Int32
    /// The longest message accepted; a longer line is skipped to its end and refused, and the
    /// server keeps reading.
    let maxMessageBytes: Int
    /// Requests handled at once (a slow upstream call must not hold up a `ping`).
    let concurrency: Int

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, maxMessageBytes: Int = 16 << 20, concurrency: Int = 16) {
        self.input = input
        self.output = output
        self.maxMessageBytes = maxMessageBytes
        self.concurrency = concurrency
    }

    /// Serves until stdin ends, then waits for the requests under way to be answered.
    public func serve(_ server: MCPServer, caller: MCPServer.Caller) async {
        let writer = LineWriter(fd: output)
        let limit = maxMessageBytes
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await line in Self.lines(from: input, maxLength: maxMessageBytes) {
                if running >= concurrency {
                    await group.next()
                    running -= 1
                }
                running += 1
                group.addTask {
                    switch line {
                    case .message(let data):
                        if let answer = await server.handle(data, caller: caller) { await writer.send(answer.body) }
                    case .tooLong:
                        let error = RPCError(RPCError.invalidRequest, "Invalid Request: the message is longer than \(limit) bytes")
                        await writer.send(RPCReply.error(id: .null, error))
                    }
                }
            }
        }
    }

    enum Line: Sendable {
        case message(Data)
        case tooLong
    }

    /// Lines read by a thread of their own: a blocking `read` must not hold a thread of Swift's
    /// small cooperative pool.
    static func lines(from fd: Int32, maxLength: Int) -> AsyncStream<Line> {
        AsyncStream { continuation in
            DispatchQueue(label: "devicegate.mcp-stdin").async {
                var pending = Data()
                var skipping = false
                var buffer = [UInt8](repeating: 0, count: 64 << 10)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    var chunk = buffer[0..<count][...]
                    while let newline = chunk.firstIndex(of: UInt8(ascii: "\n")) {
                        if !skipping {
                            pending.append(contentsOf: chunk[chunk.startIndex..<newline])
                            if pending.count > maxLength {
                                continuation.yield(.tooLong)
                            } else if pending.contains(where: { !$0.isWhitespace }) {
                                continuation.yield(.message(pending))
                            }
                        }
                        pending.removeAll(keepingCapacity: true)
                        skipping = false
                        chunk = chunk[(newline + 1)...]
                    }
                    guard !skipping else { continue }
                    pending.append(contentsOf: chunk)
                    if pending.count > maxLength {
                        continuation.yield(.tooLong)
                        pending.removeAll()
                        skipping = true
                    }
                }
                if !skipping, pending.contains(where: { !$0.isWhitespace }) {
                    continuation.yield(pending.count > maxLength ? .tooLong : .message(pending))
                }
                continuation.finish()
            }
        }
    }
}

extension UInt8 {
    fileprivate var isWhitespace: Bool { self == 0x20 || self == 0x09 || self == 0x0D || self == 0x0A }
}

/// Writes whole lines to a descriptor, one at a time, so two answers never interleave.
actor LineWriter {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    func send(_ message: Data) {
        var bytes = [UInt8](message)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
