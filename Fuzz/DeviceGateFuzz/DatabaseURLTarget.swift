import DeviceGateKit
import DeviceGatePostgres
import Foundation

/// `[store]`'s database URL (from the environment or a secret file): any text. Beyond "no
/// trap", an accepted URL's display form must never hold its password, and a refusal must not
/// echo it.
enum DatabaseURLTarget {
    static func run(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        let password = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines))?.password
        do {
            let url = try DatabaseURL(Secret(text))
            // The display names the user, host and database by design: a password that is a
            // part of one of them (a user "admin" with the password "admin") shows with it.
            let shownByDesign = [url.username, url.host, url.database].contains { password.map($0.contains) ?? false }
            if let password, password.count >= 4, !shownByDesign {
                check(!url.display.contains(password), "the display form holds the password", text)
                check(!String(describing: url).contains(password), "the description holds the password", text)
            }
        } catch {
            if let password, password.count >= 4 {
                check(!String(describing: error).contains(password), "a refusal echoes the password", text)
            }
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
