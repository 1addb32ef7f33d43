// The storage engine's durable tiers, measured in-process, with raw LMDB as the peer in the same
// run. Run from Benchmarks/: `swift package benchmark --target StorageBenchmarks`.
//
// Every benchmark uses 16-byte keys and 256-byte values over a key space of 200,000 keys that is
// filled before it starts, so puts update existing keys spread across the whole B-tree.
import Benchmark
import CLMDB
import Dispatch
import EngramStorage

let keySpace = 200_000
let valueBytes = 256

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 30
    )

    for writers in [1, 16, 256] {
        let fixture = StoreFixture()
        // One sample is 1,000 puts for one writer and 1,000,000 for many, so the ramp at the start
        // and end of a sample (writers starting, the last batch draining) stays a small part of it.
        Benchmark(
            "Durable put, \(writers) concurrent writers",
            configuration: .init(scalingFactor: writers == 1 ? .kilo : .mega, maxDuration: .seconds(30), maxIterations: writers == 1 ? 20 : 3),
            closure: { (benchmark: Benchmark) async -> Void in
                await fixture.durablePuts(count: benchmark.scaledIterations.count, writers: writers)
            },
            setup: { try await fixture.open() },
            teardown: { fixture.close() }
        )
    }

    let readFixture = StoreFixture()
    for threads in [1, 2] {
        Benchmark(
            "Long-term get, \(threads) thread\(threads == 1 ? "" : "s")",
            configuration: .init(scalingFactor: .mega, maxIterations: 10),
            closure: { (benchmark: Benchmark) -> Void in
                readFixture.gets(count: benchmark.scaledIterations.count, threads: threads)
            },
            setup: { try await readFixture.open() },
            teardown: { readFixture.close() }
        )
    }

    for batch in [1, 256, 1_000] {
        let raw = RawLMDBFixture()
        Benchmark(
            "Raw LMDB synced put, \(batch) per transaction",
            configuration: .init(scalingFactor: .kilo, maxIterations: batch == 1 ? 5 : 30),
            closure: { (benchmark: Benchmark) -> Void in
                raw.puts(count: benchmark.scaledIterations.count, perTransaction: batch)
            },
            setup: { raw.open() },
            teardown: { raw.close() }
        )
    }
}
