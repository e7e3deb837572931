// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "mydata-broker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mydata", targets: ["mydata"]),
        .executable(name: "mydata-bench", targets: ["mydata-bench"]),
        // For manufacturers' and startups' Swift programs: the API, typed and signed.
        .library(name: "MyDataClient", targets: ["MyDataClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Declared because our modules import NIOCore, NIOPosix and HTTPTypes directly (they come
        // with postgres-nio and Hummingbird anyway).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Declared because BrokerServer's background services conform to its Service (it comes
        // with Hummingbird anyway).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The client library's generated code runs on these (Sources/MyDataClient/Generated).
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession.git", from: "1.4.0"),
    ],
    targets: [
        // The C library enters here and only `Sodium` imports it.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .target(name: "Sodium", dependencies: ["CSodium"]),
        // The append-only, hash-chained, signed event log and its store protocol.
        .target(name: "Ledger", dependencies: ["Sodium"]),
        // Pure domain: policies, consent requests, grants, revocations, decisions, projections.
        .target(name: "Consent", dependencies: ["Ledger", "Sodium", "Accounting"]),
        // Pure domain: double-entry accounts, transfers and vouchers (TigerBeetle's model). No dependencies.
        .target(name: "Accounting"),
        // The analysis zone's arithmetic: exact discrete Laplace noise from libsodium's randomness,
        // contribution bounding, clamping, aggregation and suppression. Pure but for the randomness.
        .target(name: "Analysis", dependencies: ["Sodium", "Ledger", "Consent"]),
        // Per-person encryption of telemetry at rest, data keys wrapped by the broker's key.
        .target(name: "Vault", dependencies: ["Sodium", "Ledger", "Consent"]),
        // What the application needs from a store, as protocols: the composed `BrokerStore`, request
        // nonces and the revocation callback outbox (the event log, read models and vault have theirs
        // in their own modules).
        .target(name: "Ports", dependencies: ["Ledger", "Consent", "Vault"]),
        // SQLite and PostgreSQL implementations of the store protocols, with frozen migrations.
        .target(
            name: "Storage",
            dependencies: [
                "Ledger", "Consent", "Ports", "Vault", "Accounting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Only for ConnectionPoolError, which PostgresNIO's pool throws when it gives up a wait.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Application services: load state, decide with the pure modules, sign, append.
        .target(
            name: "Broker",
            dependencies: [
                "Sodium", "Ledger", "Consent", "Ports", "Vault", "Accounting", "Analysis",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // What client and server of the HTTP API share, without either: RFC 9421 request
        // signatures and Content-Digest, the signed event as it travels, problem details, the
        // API's own header fields.
        .target(
            name: "MyDataWire",
            dependencies: [
                "Consent", "Ledger", "Sodium",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
            ]),
        // The HTTP API: routes, RFC 9421 signature verification, problem+json. Translates and
        // authenticates; never decides whether data may leave.
        .target(
            name: "BrokerServer",
            dependencies: [
                "Accounting", "Broker", "Consent", "Ledger", "MyDataWire", "Ports", "Sodium", "Vault",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ], exclude: ["Resources/app"], resources: [.copy("Resources/openapi.yaml")]),
        // A transparency log witness (c2sp.org/tlog-witness): `mydata witness serve`.
        .target(
            name: "Witness",
            dependencies: [
                "Ledger", "Sodium",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        // The client library (no Hummingbird): the generated client of docs/openapi.yaml, the
        // signing middleware, openers of sealed deliveries, the raw signing client.
        .target(
            name: "MyDataClient",
            dependencies: [
                "Broker", "Consent", "Ledger", "MyDataWire", "Sodium",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ]),
        .executableTarget(
            name: "mydata",
            dependencies: [
                "Accounting", "BrokerServer", "Broker", "MyDataClient", "MyDataWire", "Storage", "Ports", "Sodium", "Ledger", "Consent", "Vault",
                "Witness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // The benchmark: measures its own baselines (raw libsodium, raw SQLite) in the same run.
        .executableTarget(
            name: "mydata-bench",
            dependencies: [
                "Accounting",
                "Broker", "BrokerServer", "MyDataClient", "MyDataWire", "Storage", "Sodium", "Ledger", "Consent", "Vault",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        // Fuzz targets: every parser that takes outside input, as one function each over bytes.
        // Run by `mydata-fuzz` under libFuzzer (.ci/fuzz) and by the corpus replay test.
        .target(name: "FuzzTargets", dependencies: ["Analysis", "Broker", "BrokerServer", "Consent", "Ledger", "MyDataWire", "Sodium"]),
        .executableTarget(name: "mydata-fuzz", dependencies: ["FuzzTargets"]),
        .target(
            name: "TestSupport",
            dependencies: [
                "Broker", "Storage", "Ports", "Sodium", "Ledger", "Consent",
                .product(name: "Logging", package: "swift-log"),
            ], path: "Tests/TestSupport"),
        .testTarget(name: "AccountingTests", dependencies: ["Accounting"]),
        .testTarget(name: "SodiumTests", dependencies: ["Sodium", "TestSupport"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Consent", "Ledger", "Sodium", "TestSupport"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Sodium", "TestSupport"]),
        .testTarget(name: "ConsentTests", dependencies: ["Consent", "Ledger", "Sodium", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "Ports", "Ledger", "Consent", "Broker", "Sodium", "Vault", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "BrokerTests",
            dependencies: [
                "Accounting", "Broker", "Ports", "Storage", "Consent", "Ledger", "Sodium", "Vault", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "BrokerServerTests",
            dependencies: [
                "BrokerServer", "Broker", "Consent", "Ledger", "MyDataWire", "Storage", "Sodium", "Vault", "TestSupport", "FuzzTargets",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "MydataCLITests",
            dependencies: [
                "Accounting", "TestSupport", "Sodium", "Broker", "BrokerServer", "MyDataClient", "MyDataWire", "Ports", "Storage", "Consent",
                "Ledger",
                "Vault",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            // The independent Python clients, run by the tests as separate processes.
            exclude: ["Clients"]),
    ],
    swiftLanguageModes: [.v6]
)
