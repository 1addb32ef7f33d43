// Leads as native records, measured in-process (docs/PERFORMANCE.md, "Records"). Run from
// Benchmarks/: `swift package benchmark --target RecordsBenchmarks`, or the whole comparison with
// PostgreSQL: `Benchmarks/peers/run-records-benchmarks.sh`.
//
// - Durable lead inserts with 16 and 256 concurrent writers, each waiting for its acknowledgement
//   (fdatasync of the commit log) before the next, as pgbench's clients do. One iteration is one
//   insert, so the throughput column is inserts a second.
// - The agents' everyday queries on one million leads created over 30 days: "score above 80 in
//   the last 24 hours, limit 100" (decoded into `Lead` values, and as raw record bytes, the
//   server's path) and "status X ordered by score, limit 100". One iteration is one query, so the
//   wall-clock percentiles are per-query latencies.
// - Campaign summaries (100 active campaigns, a day of metric events each): durable metric
//   appends from 16 writers (each updates its campaign's live summary and hourly bucket in the
//   same transaction), one campaign's summary, the active campaigns' summaries, a day's hourly
//   series. One iteration is one operation.
import Benchmark
import EngramStorage

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal],
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 1_000_000
    )

    for writers in [16, 256] {
        let fixture = LeadWriteFixture()
        Benchmark(
            "Lead insert (durable), \(writers) concurrent writers",
            configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(15), maxIterations: 40),
            closure: { (benchmark: Benchmark) async -> Void in
                await fixture.durableInserts(count: benchmark.scaledIterations.count, writers: writers)
            },
            setup: { try fixture.open() },
            teardown: { fixture.close() }
        )
    }

    let leads = MillionLeadsFixture()
    Benchmark(
        "Lead query, score > 80 in the last 24 h, limit 100, 1M leads",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 100_000),
        closure: { (benchmark: Benchmark) -> Void in
            let query = LeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: leads.now - day, limit: 100)
            for _ in benchmark.scaledIterations {
                let page = try leads.store!.leadQuery(namespace: leads.namespace, query)
                precondition(page.leads.count == 100, "the query found \(page.leads.count) leads")
                blackHole(page)
            }
        },
        setup: { try await leads.open() },
        teardown: { leads.close() }
    )
    Benchmark(
        "Lead query as record bytes, score > 80 in the last 24 h, limit 100, 1M leads",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 100_000),
        closure: { (benchmark: Benchmark) -> Void in
            let query = LeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: leads.now - day, limit: 100)
            for _ in benchmark.scaledIterations {
                var bytes = 0
                _ = try leads.store!.leadQuery(namespace: leads.namespace, query) { record in bytes &+= record.count }
                blackHole(bytes)
            }
        },
        setup: { try await leads.open() },
        teardown: { leads.close() }
    )
    Benchmark(
        "Lead query, status qualified by score, limit 100, 1M leads",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 100_000),
        closure: { (benchmark: Benchmark) -> Void in
            let query = LeadQuery(status: "qualified", limit: 100)
            for _ in benchmark.scaledIterations {
                blackHole(try leads.store!.leadQuery(namespace: leads.namespace, query))
            }
        },
        setup: { try await leads.open() },
        teardown: { leads.close() }
    )

    let summaries = CampaignSummaryFixture()
    Benchmark(
        "Metric append (durable), 16 concurrent writers, 100 campaigns",
        configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(15), maxIterations: 20),
        closure: { (benchmark: Benchmark) async -> Void in
            await summaries.durableAppends(count: benchmark.scaledIterations.count, writers: 16)
        },
        setup: { try await summaries.open() },
        teardown: { summaries.close() }
    )
    Benchmark(
        "Campaign summary, one campaign",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 100_000),
        closure: { (benchmark: Benchmark) -> Void in
            for iteration in benchmark.scaledIterations {
                blackHole(try summaries.store!.campaignPerformance(namespace: summaries.namespace, id: summaries.campaignIDs[iteration % summaries.campaignIDs.count]))
            }
        },
        setup: { try await summaries.open() },
        teardown: { summaries.close() }
    )
    Benchmark(
        "Active campaign summaries, 100 campaigns, limit 100",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 100_000),
        closure: { (benchmark: Benchmark) -> Void in
            for _ in benchmark.scaledIterations {
                let page = try summaries.store!.activeCampaignPerformance(namespace: summaries.namespace, limit: 100)
                precondition(page.performances.count == CampaignSummaryFixture.campaignCount, "found \(page.performances.count) active campaigns")
                blackHole(page)
            }
        },
        setup: { try await summaries.open() },
        teardown: { summaries.close() }
    )
    Benchmark(
        "Hourly series, one campaign, last 24 h",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxIterations: 100_000),
        closure: { (benchmark: Benchmark) -> Void in
            for iteration in benchmark.scaledIterations {
                let id = summaries.campaignIDs[iteration % summaries.campaignIDs.count]
                blackHole(try summaries.store!.campaignHourlySeries(namespace: summaries.namespace, campaignID: id, fromMicroseconds: summaries.now - day, limit: 48))
            }
        },
        setup: { try await summaries.open() },
        teardown: { summaries.close() }
    )
}
