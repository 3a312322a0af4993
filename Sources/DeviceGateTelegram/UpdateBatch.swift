#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One `getUpdates` answer, read update by update, so that one update devicegate cannot read
/// (a message without `chat`, a chat id sent as a string or beyond 64 bits, a fractional `date`)
/// is skipped instead of making the whole batch unreadable: a batch that fails as a whole comes
/// back unchanged on every poll, and the bot would never answer again.
///
/// Unknown fields and update types are not errors: Telegram adds them, and they decode to an
/// update without a ``TelegramUpdate/message``.
public struct UpdateBatch: Sendable, Equatable {
    /// An update that was passed over, and why: which field, never its content.
    public struct Skipped: Sendable, Equatable {
        /// Its `update_id`, when even that could not be read: nil.
        public var updateID: Int?
        public var reason: String

        public init(updateID: Int?, reason: String) {
            self.updateID = updateID
            self.reason = reason
        }
    }

    /// The updates that decoded, in the order Telegram sent them.
    public var updates: [TelegramUpdate]
    public var skipped: [Skipped]
    /// The highest `update_id` in the batch, decoded or skipped: the offset must pass it.
    public var highestID: Int? {
        (updates.map(\.updateID) + skipped.compactMap(\.updateID)).max()
    }

    public init(updates: [TelegramUpdate] = [], skipped: [Skipped] = []) {
        self.updates = updates
        self.skipped = skipped
    }

    /// Reads the `result` array of a `getUpdates` answer. Throws only when it is not a JSON
    /// array at all; each element that does not decode becomes a ``Skipped``. Public so the fuzz
    /// target (Fuzz/DeviceGateFuzz) can feed it what a hostile server might send.
    public init(resultJSON: Data) throws {
        self = try JSONDecoder().decode(UpdateBatch.self, from: resultJSON)
    }

    /// The update ids the offset can move past: `update_id + 1` must not overflow, and a
    /// negative offset means "count from the end" to Telegram.
    static let validIDs = 0..<Int.max
}

extension UpdateBatch: Decodable {
    public init(from decoder: any Decoder) throws {
        var list = try decoder.unkeyedContainer()
        var updates: [TelegramUpdate] = []
        var skipped: [Skipped] = []
        while !list.isAtEnd {
            switch try list.decode(Slot.self).outcome {
            case .success(let update): updates.append(update)
            case .failure(let problem): skipped.append(problem.skipped)
            }
        }
        self.init(updates: updates, skipped: skipped)
    }

    /// One element of `result`. Decoding it never throws, so the list moves on whatever it holds.
    private struct Slot: Decodable {
        let outcome: Result<TelegramUpdate, SkippedError>

        struct SkippedError: Error {
            let skipped: Skipped
        }

        enum IDKey: String, CodingKey { case updateID = "update_id" }

        init(from decoder: any Decoder) {
            let id = try? decoder.container(keyedBy: IDKey.self).decode(Int.self, forKey: .updateID)
            let readableID = id.flatMap { UpdateBatch.validIDs.contains($0) ? $0 : nil }
            do {
                let update = try TelegramUpdate(from: decoder)
                guard UpdateBatch.validIDs.contains(update.updateID) else {
                    throw DecodingError.dataCorrupted(
                        .init(codingPath: decoder.codingPath + [IDKey.updateID], debugDescription: "update_id out of range"))
                }
                outcome = .success(update)
            } catch {
                let reason = Self.reason(error, below: decoder.codingPath.count)
                outcome = .failure(SkippedError(skipped: Skipped(updateID: readableID, reason: reason)))
            }
        }

        /// What was wrong, by field path and kind. Foundation's own messages quote values
        /// ("Number 1.5 is not representable"), and an update's values are a person's messages.
        /// - Parameter below: how many path components lead to this element (its index in the list).
        static func reason(_ error: any Error, below depth: Int) -> String {
            // Foundation reports a number that does not fit (1.5 for an Int, 2^64 for an Int64)
            // with an internal error that names the number and no path.
            guard let error = error as? DecodingError else { return "a number in it is out of range or not whole" }
            func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
                let names = (keys.dropFirst(depth) + (last.map { [$0] } ?? [])).map { key in
                    key.intValue.map { "[\($0)]" } ?? key.stringValue
                }
                return names.isEmpty ? "the update" : names.joined(separator: ".")
            }
            switch error {
            case .keyNotFound(let key, let context): return "\(path(context.codingPath, key)) is missing"
            case .valueNotFound(let type, let context): return "\(path(context.codingPath)) is null, not \(Self.name(type))"
            case .typeMismatch(let type, let context): return "\(path(context.codingPath)) is not \(Self.name(type))"
            case .dataCorrupted(let context): return "\(path(context.codingPath)) has a value out of range or malformed"
            @unknown default: return "it could not be read"
            }
        }

        static func name(_ type: Any.Type) -> String {
            switch type {
            case is Int.Type, is Int64.Type: "a whole number"
            case is Bool.Type: "true or false"
            case is String.Type: "a string"
            default: "an object"
            }
        }
    }
}
