import DeviceGateKit
import DeviceGatePostgres
import Foundation

/// `[store]`'s database URL (from the environment or a secret file): any text. Beyond "no
/// trap", an accepted URL's display form must never hold its password, and a refusal must not
/// echo it.
///
/// Only passwords that could not be anything else are checked: at least four characters with a
/// digit (no message has digits, so a password such as `tgres` inside the word "postgres" is not
/// an echo), and not part of the scheme, user, host or database, which are shown by design.
enum DatabaseURLTarget {
    static func run(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        let components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard let password = components?.password, password.count >= 4, password.contains(where: \.isNumber) else {
            _ = try? DatabaseURL(Secret(text))
            return
        }
        let named = [components?.scheme, components?.user, components?.host, components?.path].compactMap { $0 }
        // Case-blind: the scheme is shown lowercased.
        guard !named.contains(where: { $0.lowercased().contains(password.lowercased()) }) else {
            _ = try? DatabaseURL(Secret(text))
            return
        }
        do {
            let url = try DatabaseURL(Secret(text))
            check(!url.display.contains(password), "the display form holds the password", text)
            check(!String(describing: url).contains(password), "the description holds the password", text)
        } catch {
            check(!String(describing: error).contains(password), "a refusal echoes the password", text)
        }
    }
}

extension DatabaseURLTarget {
    /// The fuzzer reports the input that broke it; the message names the invariant, not the
    /// input (it holds a password by construction).
    static func check(_ condition: Bool, _ what: String, _ input: String) {
        if !condition { fatalError("database-url invariant broken: \(what) (input of \(input.utf8.count) bytes)") }
    }
}
