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
    ],
    swiftLanguageModes: [.v6]
)
