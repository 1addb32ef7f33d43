// swift-tools-version:6.1
// Engram: the memory and data layer of a marketing multi-agent system. One process, `engramd`,
// owns a data directory and serves every tier over a binary TCP protocol. See docs/ for the
// protocol, the storage formats and the durability contract.
import PackageDescription

let package = Package(
    name: "Engram",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EngramStorage", targets: ["EngramStorage"]),
        // For the benchmarks' raw-LMDB baseline, measured beside the engine in the same run.
        .library(name: "CLMDB", targets: ["CLMDB"]),
        .library(name: "EngramProtocol", targets: ["EngramProtocol"]),
        .library(name: "EngramServer", targets: ["EngramServer"]),
        .library(name: "EngramClient", targets: ["EngramClient"]),
        .executable(name: "engramd", targets: ["engramd"]),
        .executable(name: "engram", targets: ["engram"]),
        .executable(name: "engram-bench", targets: ["engram-bench"]),
        .library(name: "EngramAgents", targets: ["EngramAgents"]),
        .executable(name: "engram-agents", targets: ["engram-agents"]),
        .executable(name: "engram-export", targets: ["engram-export"]),
        .executable(name: "engram-load", targets: ["engram-load"]),
        .executable(name: "engram-crashloop", targets: ["engram-crashloop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Only the export tool's targets use it: the core builds without it.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // HdrHistogram for engram-load's latency percentiles.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // C libraries from Debian, through pkg-config. Their pkg-config names are lmdb, liblz4 and
        // libzstd; a wrong name only warns, so the names are checked by `tools/test`.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // CRC-32C with the processor's instruction; Swift cannot reach it directly.
        .target(name: "CCRC32C"),
        // Operating-system calls Swift's Glibc module does not import (sync_file_range).
        .target(name: "CSystemShims"),

        // The storage engine: LMDB tier, commit log, group-commit writer. Imports no NIO.
        .target(
            name: "EngramStorage",
            dependencies: ["CLMDB", "CLZ4", "CZstd", "CCRC32C", "CSystemShims"]
        ),

        // A child process for the crash tests: writes through the group-commit writer and prints
        // each acknowledged write, until the test kills it.
        .executableTarget(
            name: "engram-crash-writer",
            dependencies: ["EngramStorage"],
            path: "Tests/EngramCrashWriter"
        ),
        .testTarget(
            name: "EngramStorageTests",
            dependencies: ["EngramStorage", "engram-crash-writer"]
        ),

        // The wire protocol (docs/PROTOCOL.md): frame header, messages, encoder and decoder.
        // NIOCore only, so clients need neither the engine nor real I/O.
        .target(
            name: "EngramProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "EngramProtocolTests",
            dependencies: [
                "EngramProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),

        // The server: connections, authentication, limits, routing to the store, admin HTTP.
        .target(
            name: "EngramServer",
            dependencies: [
                "EngramStorage", "EngramProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "engramd",
            dependencies: [
                "EngramServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "EngramServerTests",
            dependencies: [
                "EngramServer", "EngramProtocol", "EngramStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),

        // The async/await client library, the `engram` command line and the load tool.
        .target(
            name: "EngramClient",
            dependencies: [
                "EngramProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // `engram import`'s file reading and pipelined loading (docs/IMPORT.md): a library, so
        // the tests drive it without a terminal.
        .target(
            name: "EngramImport",
            dependencies: ["EngramClient", "EngramProtocol"]
        ),
        .testTarget(
            name: "EngramImportTests",
            dependencies: ["EngramImport", "EngramProtocol"]
        ),
        .executableTarget(
            name: "engram",
            dependencies: [
                "EngramClient", "EngramImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "engram-bench",
            dependencies: [
                "EngramProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The marketing agents (docs/AGENTS.md): triage, engagement and optimization as clients of
        // the server, and `engram-agents`, which runs them together with a live view.
        .target(
            name: "EngramAgents",
            dependencies: ["EngramClient", "EngramProtocol"]
        ),
        .executableTarget(
            name: "engram-agents",
            dependencies: [
                "EngramAgents", "EngramClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "EngramAgentsTests",
            dependencies: ["EngramAgents", "EngramProtocol"]
        ),
        // The load generator (docs/PERFORMANCE.md, "Journeys under load"): the marketing system's
        // journeys on an open-loop schedule through the client. A library, so the tests drive it.
        .target(
            name: "EngramLoad",
            dependencies: [
                "EngramClient", "EngramProtocol",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "engram-load",
            dependencies: [
                "EngramLoad", "EngramClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The crash tool (docs/TESTING.md, "The crash tool"): a real engramd killed with SIGKILL
        // under a durable load and in its recovery, every acknowledged write checked through the
        // client. A library, so the suite runs a short loop in process; it opens copies of the
        // killed server's directory with the engine for the records' consistency check.
        .target(
            name: "EngramCrashLoop",
            dependencies: ["EngramClient", "EngramProtocol", "EngramStorage"]
        ),
        .executableTarget(
            name: "engram-crashloop",
            dependencies: [
                "EngramCrashLoop",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // End-to-end tests: start the real `engramd` on a free loopback port and talk to it.
        .testTarget(
            name: "EngramIntegrationTests",
            dependencies: [
                "EngramClient", "EngramProtocol", "engramd", "engram", "EngramAgents", "engram-agents",
                "EngramLoad", "engram-load", "EngramCrashLoop",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // The export to PostgreSQL (docs/EXPORT.md): a client of the snapshot opcodes that loads
        // PostgreSQL with COPY. A library so the tests drive it in process; the executable parses
        // arguments. postgres-nio stays in these targets only.
        .target(
            name: "EngramExport",
            dependencies: [
                "EngramClient", "EngramProtocol", "EngramStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .executableTarget(
            name: "engram-export",
            dependencies: [
                "EngramExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Against a real PostgreSQL that the tests start in a temporary folder, and an
        // in-process engramd.
        .testTarget(
            name: "EngramExportTests",
            dependencies: [
                "EngramExport", "EngramServer", "EngramClient", "EngramStorage", "engram-export",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
