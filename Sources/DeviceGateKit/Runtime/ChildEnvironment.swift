#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the environment of a program started by `devicegate exec` may hold.
///
/// Two rules, each in one place. The child gets its token and nothing else of devicegate's: the
/// variables that hold devicegate's own secrets (a client secret, the bot token, a webhook's
/// secret or URL, a managed identity's header) are taken out of what it inherits. And the token
/// goes only into a variable that nothing interprets: a loader, shell, locale or language
/// runtime variable holding a token would have it printed in an error message
/// (`ld.so: object 'eyJ…' from LD_PRELOAD cannot be preloaded`), looked up in DNS (a proxy
/// variable) or run.
public enum ChildEnvironment {
    /// The variables, named by the config or fixed by convention, that hold devicegate's own
    /// secrets. None of them reaches a child: it gets its token through the variables named for
    /// it, and no way to get another.
    ///
    /// `DEVICEGATE_KEY_FILE` and `DEVICEGATE_CONFIG` name files rather than hold secrets, and stay
    /// so that a `devicegate` run by the child finds the same store.
    public static func withheldVariables(of config: DeviceGateConfig) -> Set<String> {
        var names: Set<String> = [
            TelegramSettings.tokenVariable,
            // The gateway key of an agent: a command given a token has no business with the gateway.
            "DEVICEGATE_AGENT_KEY",
            // An Azure managed identity's endpoint secret mints tokens for any resource.
            "IDENTITY_HEADER", "MSI_SECRET",
        ]
        for profile in config.profiles.values {
            if case .environment(let name)? = profile.clientSecret { names.insert(name) }
        }
        let notifiers = config.notifierSettings
        if case .environment(let name) = notifiers.telegram.tokenSource { names.insert(name) }
        if let webhook = notifiers.webhook {
            if case .environment(let name)? = webhook.secret { names.insert(name) }
            // A chat webhook's URL carries its credential in the path.
            if let name = webhook.urlVariable { names.insert(name) }
        }
        return names
    }

    /// Whether `name` can be a variable name at all: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// Why the token must not go into `name`, or nil when nothing is known to interpret it.
    ///
    /// The denylist: names the dynamic loader, the C library, shells, the terminal and locale
    /// machinery, language runtimes and common tools read and act on. Compared in upper case,
    /// because several programs also read the lower-case spelling (`http_proxy`).
    public static func refusalReason(forTokenVariable name: String) -> String? {
        let upper = name.uppercased()
        for (prefix, reader) in refusedPrefixes where upper.hasPrefix(prefix) {
            return "\(reader) read \(prefix)* variables"
        }
        if let reader = refusedNames[upper] { return "\(reader) reads \(upper)" }
        return nil
    }

    /// Prefixes whose every variable something interprets, and who.
    static let refusedPrefixes: [(String, String)] = [
        ("LD_", "the dynamic loader and the linker"),
        ("DYLD_", "the macOS dynamic loader"),
        ("GLIBC_", "the C library"),
        ("MALLOC_", "the C library's allocator"),
        ("LC_", "the locale machinery and every shell"),
        ("BASH_FUNC_", "bash (exported functions)"),
        ("PYTHON", "Python"),
        ("NODE_", "Node.js"),
        ("NPM_CONFIG_", "npm"),
        ("PERL", "Perl"),
        ("RUBY", "Ruby"),
        ("GEM_", "RubyGems"),
        ("BUNDLE_", "Bundler"),
        ("JAVA_", "Java"),
        ("_JAVA_", "Java"),
        ("JDK_", "Java"),
        ("DOTNET_", ".NET"),
        ("COMPLUS_", ".NET"),
        ("CORECLR_", ".NET"),
        ("LUA_", "Lua"),
        ("PHP", "PHP"),
        ("GIT_", "git"),
        ("SSH_", "ssh"),
        ("GPG", "GnuPG"),
        ("LESS", "less"),
        ("XDG_", "desktop and shell tools"),
        ("DEVICEGATE", "devicegate itself"),
    ]

    /// Whole names something interprets, and who.
    static let refusedNames: [String: String] = {
        var names: [String: String] = [:]
        func add(_ reader: String, _ list: [String]) { for name in list { names[name] = reader } }
        add("the C library", ["GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN", "TZ", "TZDIR", "TMPDIR"])
        add("the locale machinery", ["LANG", "LANGUAGE", "LINGUAS", "POSIXLY_CORRECT"])
        add(
            "the shell",
            [
                "PATH", "IFS", "ENV", "BASH_ENV", "BASHOPTS", "SHELLOPTS", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "CDPATH",
                "GLOBIGNORE", "FPATH", "ZDOTDIR", "HISTFILE", "HISTCONTROL", "INPUTRC", "MAIL", "MAILPATH", "HOME", "SHELL", "PWD",
                "OLDPWD", "USER", "LOGNAME", "EXECIGNORE", "TIMEFORMAT", "FCEDIT", "HOSTFILE", "KSH_VERSION",
            ])
        add("the terminal library", ["TERM", "TERMINFO", "TERMINFO_DIRS", "TERMCAP", "COLUMNS", "LINES", "DISPLAY", "WAYLAND_DISPLAY"])
        add(
            "network tools (a proxy host is looked up in DNS)",
            ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY", "NO_PROXY", "SOCKS_PROXY", "SOCKS5_SERVER", "RSYNC_PROXY"])
        add(
            "TLS libraries",
            ["SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSLKEYLOGFILE", "OPENSSL_CONF", "OPENSSL_ENGINES"])
        add(
            "tools that start other programs",
            [
                "EDITOR", "VISUAL", "PAGER", "MANPAGER", "BROWSER", "SUDO_ASKPASS", "SUDO_EDITOR", "CURL_HOME", "WGETRC",
                "CLASSPATH", "RUSTC_WRAPPER", "RUSTFLAGS", "CARGO_HOME", "CC", "CXX", "CFLAGS", "LDFLAGS", "MAKEFLAGS",
            ])
        add(
            "the Go toolchain and runtime",
            [
                "GOFLAGS", "GODEBUG", "GOENV", "GOPATH", "GOROOT", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB",
                "GOINSECURE",
                "GOTOOLCHAIN", "GOTRACEBACK", "GOEXPERIMENT", "GOCACHE", "GOMODCACHE", "GOBIN", "GOWORK", "GOAUTH", "GOVCS",
            ])
        add("container tools", ["DOCKER_HOST", "DOCKER_CONFIG", "KUBECONFIG", "CONTAINER_HOST"])
        add("the Swift runtime", ["SWIFT_BACKTRACE", "SWIFT_DEBUG_ENABLE_COW_CHECKS"])
        return names
    }()
}
