import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a button carries: an action, the held request it names, and a MAC under a key derived
/// from the store key, so that only this devicegate can make one and nobody can change the
/// action or the request. 39 bytes, inside Telegram's 64-byte `callback_data`.
///
/// The MAC binds the place the button was sent to (the chat), so a ticket copied into another
/// chat is refused. Single use and expiry are not the ticket's: the held request it names is
/// decided once and forgotten (``HeldRequests``), after which the ticket names nothing.
public struct ApprovalTicket: Sendable, Equatable {
    /// One byte: ``ApprovalAnswer`` raw values for held requests, ``LockAction`` for lock alerts.
    public let action: Character
    public let id: HeldRequestID

    public init(action: Character, id: HeldRequestID) {
        self.action = action
        self.id = id
    }

    /// Signs tickets and checks them; one per process, made from the store key.
    public struct Signer: Sendable {
        private let key: SymmetricKey

        public init(storeKey: StoreKey) {
            key = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: storeKey.key, info: Data("devicegate approval buttons v1".utf8), outputByteCount: 32)
        }

        /// The button's data for `ticket`, sent to `place` (a chat id).
        public func encode(_ ticket: ApprovalTicket, for place: String) -> String {
            String(ticket.action) + ticket.id.text + mac(ticket, place)
        }

        /// Reads a button's data from outside. Nil for anything that is not exactly a ticket
        /// this signer made for `place`: wrong length, bytes outside base64url, a changed action
        /// or id, another chat, another key.
        public func decode(_ data: String, from place: String) -> ApprovalTicket? {
            let bytes = Array(data.utf8)
            guard bytes.count == ApprovalTicket.length, bytes[0] < 0x80,
                let id = HeldRequestID(String(decoding: bytes[1..<17], as: UTF8.self))
            else { return nil }
            let ticket = ApprovalTicket(action: Character(Unicode.Scalar(bytes[0])), id: id)
            let expected = Array(mac(ticket, place).utf8)
            // Constant time: the comparison must not tell a forger how much was right.
            guard expected.count == bytes.count - 17 else { return nil }
            var difference: UInt8 = 0
            for (a, b) in zip(expected, bytes[17...]) { difference |= a ^ b }
            return difference == 0 ? ticket : nil
        }

        private func mac(_ ticket: ApprovalTicket, _ place: String) -> String {
            let message = Data("\(ticket.action)|\(ticket.id.text)|\(place)".utf8)
            let code = HMAC<SHA256>.authenticationCode(for: message, using: key)
            return Base64URL.encode(code.prefix(16))
        }
    }

    /// 1 action byte + 16 id characters + 22 MAC characters (128 bits).
    public static let length = 39
}

/// The buttons of a breaker alert.
public enum LockAction: Character, Sendable {
    case unlock = "u"
    case keepLocked = "k"
}
