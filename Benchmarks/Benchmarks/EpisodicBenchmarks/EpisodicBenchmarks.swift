// The episodic log, measured in-process. Run from Benchmarks/:
// `swift package benchmark --target EpisodicBenchmarks`.
//
// Appends are durable (one fdatasync per group-commit batch), from 8 concurrent writers, each
// command carrying 1,000 episodes. Reads run against a store filled with 1,000,000 marketing
// events from 12 agents. docs/PERFORMANCE.md ("Episodic log") records the figures.
import Benchmark
import EngramStorage

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal],
        warmupIterations: 1,
        scalingFactor: .mega,
        maxDuration: .seconds(20),
        maxIterations: 5
    )

    for events in [EpisodicFixture.Events.marketing, .small] {
        let fixture = EpisodicFixture(events: events)
        Benchmark(
            "Episodic durable append, \(events.label), 1,000 per command, 8 writers",
            closure: { (benchmark: Benchmark) async -> Void in
                await fixture.append(count: benchmark.scaledIterations.count, writers: 8)
            },
            setup: { try await fixture.open(fill: 0) },
            teardown: { fixture.close() }
        )
    }

    let reads = EpisodicFixture(events: .marketing)
    Benchmark(
        "Episodic scan in position order, marketing events",
        closure: { (benchmark: Benchmark) -> Void in
            reads.scan(count: benchmark.scaledIterations.count)
        },
        setup: { try await reads.open(fill: 1_000_000) },
        teardown: { reads.close() }
    )
    Benchmark(
        "Episodic range read, one agent of 12, oldest first",
        configuration: .init(scalingFactor: .kilo),
        closure: { (benchmark: Benchmark) -> Void in
            reads.agentRead(count: benchmark.scaledIterations.count * 10, order: .oldestFirst)
        },
        setup: { try await reads.open(fill: 1_000_000) },
        teardown: { reads.close() }
    )
    Benchmark(
        "Episodic range read, one agent of 12, newest first",
        configuration: .init(scalingFactor: .kilo),
        closure: { (benchmark: Benchmark) -> Void in
            reads.agentRead(count: benchmark.scaledIterations.count * 10, order: .newestFirst)
        },
        setup: { try await reads.open(fill: 1_000_000) },
        teardown: { reads.close() }
    )
}
