// swift-tools-version:6.1
// Engram's benchmarks, a package of their own (as SwiftNIO keeps them) so the benchmark
// dependency stays out of the main build. Run from this folder: `swift package benchmark`.
// docs/PERFORMANCE.md gives every figure with the command that produced it.
import PackageDescription

let package = Package(
    name: "EngramBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Engram", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The hot tier in-process: gets and puts from 1 and 2 threads, bytes of overhead per item.
        .executableTarget(
            name: "HotTierBenchmarks",
            dependencies: [
                .product(name: "EngramStorage", package: "Engram"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/HotTierBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
