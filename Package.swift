// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "devicegate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "devicegate", targets: ["devicegate"]),
        .library(name: "DeviceGateKit", targets: ["DeviceGateKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // No default traits: "FullFoundation" links all of Foundation (and its 34 MB of ICU data)
        // for form-encoded dates devicegate does not use; "ConfigurationSupport" is unused too.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0", traits: []),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // PostgresNIO 1.33.2 with a small patch so that it references nothing of Foundation beyond
        // FoundationEssentials (Vendor/postgres-nio/PATCHES.md); drop it once upstream does that.
        .package(path: "Vendor/postgres-nio"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        .target(
            name: "DeviceGateKit",
            dependencies: [
                "CQRencode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DeviceGateTelegram",
            dependencies: [
                "DeviceGateKit",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DeviceGateGateway",
            dependencies: [
                "DeviceGateKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The Model Context Protocol door (stdio and the gateway's /mcp): JSON-RPC written here
        // rather than with modelcontextprotocol/swift-sdk 0.12.1, which stops at the 2025-11-25
        // handshake revision (docs/ARCHITECTURE.md). Depends on the Kit only.
        .target(
            name: "DeviceGateMCP",
            dependencies: [
                "DeviceGateKit",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The PostgreSQL store driver: several gateways share one set of tokens. An adapter like
        // the others: it depends on the Kit, the Kit never on it; the executable plugs it in.
        .target(
            name: "DeviceGatePostgres",
            dependencies: [
                "DeviceGateKit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "devicegate",
            dependencies: [
                "DeviceGateKit",
                "DeviceGateTelegram",
                "DeviceGateGateway",
                "DeviceGateMCP",
                "DeviceGatePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict,
            // swiftc exports every symbol of an executable on Linux (54,000 here, with
            // --static-swift-stdlib), which the loader then relocates and `dladdr` searches at
            // each start; nothing loads devicegate as a library, so export nothing (issue 14:
            // `devicegate token` starts ~15% faster, and the binary is 5 MB smaller).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))]
        ),
        // libFuzzer targets for every parser of outside input. scripts/fuzz builds this with
        // -sanitize=fuzzer,address (libFuzzer then supplies main); a normal build links it as a
        // tool that replays inputs through a target. Kept off the gateway and Hummingbird.
        .executableTarget(
            name: "DeviceGateFuzz",
            dependencies: [
                "DeviceGateKit", "DeviceGateTelegram", "DeviceGateMCP", "DeviceGatePostgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/DeviceGateFuzz",
            swiftSettings: strict
        ),
        .target(
            name: "DeviceGateTestSupport",
            dependencies: [
                "DeviceGateKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DeviceGateTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeviceGateKitTests",
            dependencies: [
                "DeviceGateKit", "DeviceGateTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeviceGateTelegramTests",
            dependencies: ["DeviceGateKit", "DeviceGateTelegram", "DeviceGateTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeviceGateIntegrationTests",
            dependencies: [
                "DeviceGateKit", "DeviceGatePostgres", "DeviceGateTestSupport", "devicegate",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeviceGatePostgresTests",
            dependencies: [
                "DeviceGateKit", "DeviceGatePostgres", "DeviceGateTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeviceGateGatewayTests",
            dependencies: [
                "DeviceGateKit", "DeviceGateGateway", "DeviceGateTestSupport",
                // The approval tests run the Telegram approver against the Bot API double.
                "DeviceGateTelegram",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
    ]
)
