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
