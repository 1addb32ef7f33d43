// swift-tools-version:6.1
// Engram's benchmarks, as a package of their own (as SwiftNIO does), so the benchmark dependency
// stays out of the main build. Run from this folder: `swift package benchmark`.
// Baselines live in `.benchmarkBaselines/`; docs/PERFORMANCE.md records each figure with its command.
import PackageDescription

let package = Package(
    name: "EngramBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Engram", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "StorageBenchmarks",
            dependencies: [
                .product(name: "EngramStorage", package: "Engram"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StorageBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The hot tier in-process: gets and puts from 1 and 2 threads, bytes of overhead per item.
        .executableTarget(
            name: "HotTierBenchmarks",
            dependencies: [
                .product(name: "EngramStorage", package: "Engram"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HotTierBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "EpisodicBenchmarks",
            dependencies: [
                .product(name: "EngramStorage", package: "Engram"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/EpisodicBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Prints the episodic log's compression ratios on generated marketing events, with the
        // same events as JSON lines through LZ4 and zstd for reference. Not a timing benchmark.
        .executableTarget(
            name: "EpisodicCompression",
            dependencies: [.product(name: "EngramStorage", package: "Engram")],
            path: "Benchmarks/EpisodicCompression"
        ),
        // Leads as native records: durable inserts and the agents' queries (docs/PERFORMANCE.md, "Records").
        .executableTarget(
            name: "RecordsBenchmarks",
            dependencies: [
                .product(name: "EngramStorage", package: "Engram"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RecordsBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
