@testable import EngramStorage
import FoundationEssentials
import Testing

@Suite struct CampaignMetricsTests {
    static let hour: Int64 = 3_600_000_000
    static let t0: Int64 = 1_700_000_000_000_000 - 1_700_000_000_000_000 % 3_600_000_000

    func event(_ campaign: Int, at time: Int64, _ sent: UInt32, _ opened: UInt32, _ clicked: UInt32, _ converted: UInt32) -> CampaignMetricEvent {
        CampaignMetricEvent(campaignID: testID(campaign), timeMicroseconds: time, sent: sent, opened: opened, clicked: clicked, converted: converted)
    }

    @Test func appendsUpdateTheSummaryAndTheHourInTheSameWrite() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let campaign = try await store.write(CampaignUpsert(namespace: crm, id: testID(1), name: "Spring", type: "email", status: .active, budgetCents: 0))
            #expect(try store.campaignPerformance(namespace: crm, id: testID(1)) == CampaignPerformance(campaign: campaign, totals: CampaignTotals()))
            let sequences = try await store.write(CampaignMetricAppend(namespace: crm, events: [
                event(1, at: Self.t0 + 10, 1_000, 300, 50, 5),
                event(1, at: Self.t0 + Self.hour - 1, 500, 100, 10, 1),
                event(1, at: Self.t0 + Self.hour, 200, 20, 2, 0),
            ]))
            #expect(sequences.count == 3 && sequences[0] < sequences[1] && sequences[1] < sequences[2])
            let performance = try #require(try store.campaignPerformance(namespace: crm, id: testID(1)))
            #expect(performance.totals == CampaignTotals(eventCount: 3, sent: 1_700, opened: 420, clicked: 62, converted: 6))
            #expect(performance.totals.openRate == 420.0 / 1_700.0)
            #expect(performance.totals.clickRate == 62.0 / 1_700.0)
            #expect(performance.totals.conversionRate == 6.0 / 1_700.0)
            let series = try store.campaignHourlySeries(namespace: crm, campaignID: testID(1), fromMicroseconds: 0, limit: 10)
            #expect(series == CampaignHourlyPage(buckets: [
                CampaignHourlyBucket(hourStartMicroseconds: Self.t0, totals: CampaignTotals(eventCount: 2, sent: 1_500, opened: 400, clicked: 60, converted: 6)),
                CampaignHourlyBucket(hourStartMicroseconds: Self.t0 + Self.hour, totals: CampaignTotals(eventCount: 1, sent: 200, opened: 20, clicked: 2, converted: 0)),
            ], resumeFromMicroseconds: nil))
            let window = try store.campaignHourlySeries(namespace: crm, campaignID: testID(1), fromMicroseconds: Self.t0 + Self.hour + 5, toMicroseconds: Self.t0 + 2 * Self.hour, limit: 10)
            #expect(window.buckets.map(\.hourStartMicroseconds) == [Self.t0 + Self.hour], "from rounds down to its hour; to excludes later hours")
            let events = try store.campaignMetricEvents(namespace: crm, campaignID: testID(1), limit: 2)
            #expect(events.events.map(\.sequence) == Array(sequences.prefix(2)))
            #expect(events.next == CampaignMetricEventPosition(timeMicroseconds: Self.t0 + Self.hour - 1, sequence: sequences[1]))
        }
    }

    @Test func aFailedAppendAppliesNothing() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            _ = try await store.write(CampaignUpsert(namespace: crm, id: testID(1), name: "A", type: "email", status: .active, budgetCents: 0))
            let missing = await engramError { _ = try await store.write(CampaignMetricAppend(namespace: crm, events: [event(1, at: 5, 1, 1, 1, 1), event(2, at: 5, 1, 1, 1, 1)])) }
            #expect(missing == EngramError(.notFound, "campaign \(testID(2).uuidString) does not exist in namespace crm"))
            #expect(try store.campaignPerformance(namespace: crm, id: testID(1))?.totals == CampaignTotals(), "the first event of the refused command was not applied")
            let other = await engramError { _ = try await store.write(CampaignMetricAppend(namespace: billing, event: event(1, at: 5, 1, 1, 1, 1))) }
            #expect(other?.code == .notFound, "a campaign of another namespace is not found")
            #expect(await engramError { _ = try await store.write(CampaignMetricAppend(namespace: crm, events: [])) } == EngramError(.invalidArgument, "a metric append needs at least one event"))
            #expect(await engramError { _ = try await store.write(CampaignMetricAppend(namespace: crm, event: event(1, at: -1, 1, 1, 1, 1))) }
                    == EngramError(.invalidArgument, "event 0 time -1 is outside 0...253402300799999999 microseconds since 1970"))
            var sequenced = event(1, at: 5, 1, 1, 1, 1)
            sequenced.sequence = 9
            #expect(await engramError { _ = try await store.write(CampaignMetricAppend(namespace: crm, event: sequenced)) }
                    == EngramError(.invalidArgument, "event 0 has sequence 9; the store assigns it, send 0"))
            let tooMany = CampaignMetricAppend(namespace: crm, events: Array(repeating: event(1, at: 5, 1, 1, 1, 1), count: 1_025))
            #expect(await engramError { _ = try await store.write(tooMany) } == EngramError(.valueTooLarge, "1025 events exceed campaignMetricAppendCountMax 1024"))
            #expect(try store.checkRecordsConsistency().eventCount == 0)
        }
    }

    @Test func totalsRefuseToOverflowOrGoNegative() {
        var totals = CampaignTotals(eventCount: 1, sent: UInt64.max - 5, opened: 0, clicked: 0, converted: 0)
        let overflowed = totals.add(event(1, at: 0, 6, 0, 0, 0))
        #expect(!overflowed)
        #expect(totals == CampaignTotals(eventCount: 1, sent: UInt64.max - 5, opened: 0, clicked: 0, converted: 0), "unchanged")
        let fits = totals.add(event(1, at: 0, 5, 0, 0, 0))
        #expect(fits)
        #expect(totals.sent == UInt64.max)
        var small = CampaignTotals(eventCount: 1, sent: 1, opened: 0, clicked: 0, converted: 0)
        let negative = small.subtract(event(1, at: 0, 1, 1, 0, 0))
        #expect(!negative)
        let exact = small.subtract(event(1, at: 0, 1, 0, 0, 0))
        #expect(exact)
        #expect(small == CampaignTotals())
    }

    @Test func aLargeCampaignIsTrimmedBeforeItCanBeDeleted() async throws {
        var limits = recordLimits()
        limits.campaignDeleteEventCountMax = 5
        limits.campaignMetricDeleteCountMax = 3
        try await withStore(limits: limits) { store, _ in
            var model = MetricsModel()
            model.campaigns[testID(1)] = try await store.write(CampaignUpsert(namespace: crm, id: testID(1), name: "Big", type: "email", status: .completed, budgetCents: 0))
            var events: [CampaignMetricEvent] = []
            for index in 0..<8 { events.append(event(1, at: Self.t0 + Int64(index) * Self.hour / 2, UInt32(index + 1), 1, 0, 0)) }
            let sequences = try await store.write(CampaignMetricAppend(namespace: crm, events: events))
            model.events[testID(1)] = zip(events, sequences).map { var event = $0; event.sequence = $1; return event }
            let refused = await engramError { _ = try await store.write(CampaignDelete(namespace: crm, id: testID(1))) }
            #expect(refused == EngramError(.valueTooLarge, "campaign \(testID(1).uuidString) has 8 metric events, over campaignDeleteEventCountMax 5; delete its events first with CampaignMetricsDelete"))
            #expect(await engramError { _ = try await store.write(CampaignMetricsDelete(namespace: crm, campaignID: testID(1), countMax: 4)) }
                    == EngramError(.invalidArgument, "countMax 4 is outside 1...3 (campaignMetricDeleteCountMax)"))
            // Only events before the bound go, oldest first.
            let before = Self.t0 + Self.hour
            #expect(try await store.write(CampaignMetricsDelete(namespace: crm, campaignID: testID(1), beforeMicroseconds: before, countMax: 3)) == 2)
            #expect(model.deleteOldest(testID(1), before: before, countMax: 3) == 2)
            #expect(try await store.write(CampaignMetricsDelete(namespace: crm, campaignID: testID(1), beforeMicroseconds: before, countMax: 3)) == 0)
            #expect(try store.metricsMismatches(model, namespace: crm) == [])
            #expect(try await store.write(CampaignMetricsDelete(namespace: crm, campaignID: testID(1), countMax: 3)) == 3)
            #expect(model.deleteOldest(testID(1), before: .max, countMax: 3) == 3)
            #expect(try store.metricsMismatches(model, namespace: crm) == [])
            #expect(try store.checkRecordsConsistency().problems == [])
            #expect(try await store.write(CampaignDelete(namespace: crm, id: testID(1))))
            let report = try store.checkRecordsConsistency()
            #expect(report.problems == [])
            #expect(report.eventCount == 0 && report.summaryCount == 0 && report.hourlyBucketCount == 0, "the delete took its events, summary and buckets")
        }
    }

    @Test func activeCampaignsWithTheirSummaries() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            var expected: [CampaignPerformance] = []
            for number in 0..<9 {
                let status: CampaignStatus = number % 3 == 0 ? .paused : .active
                let campaign = try await store.write(CampaignUpsert(namespace: crm, id: testID(number), name: "c\(number)", type: ["email", "ads"][number % 2], status: status, budgetCents: 0))
                _ = try await store.write(CampaignMetricAppend(namespace: crm, event: event(number, at: Self.t0, UInt32(number * 10), UInt32(number), 0, 0)))
                if status == .active {
                    expected.append(CampaignPerformance(campaign: campaign, totals: CampaignTotals(eventCount: 1, sent: UInt64(number * 10), opened: UInt64(number), clicked: 0, converted: 0)))
                }
            }
            expected.sort { indexOrder($0.campaign, $1.campaign) }
            var collected: [CampaignPerformance] = []
            var after: CampaignCursor?
            repeat {
                let page = try store.activeCampaignPerformance(namespace: crm, after: after, limit: 4)
                collected += page.performances
                after = page.next
            } while after != nil
            #expect(collected == expected)
            #expect(collected.count == 6)
        }
    }

    /// Random appends, metric deletes, campaign upserts (status changes) and deletes over many
    /// campaigns and hours; summaries, hourly series and events always equal the model's sums.
    @Test func summariesAndHoursEqualTheSumOfTheirEventsUnderARandomWorkload() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            var generator = SplitMix64(seed: 99)
            var model = MetricsModel()
            try await MetricsWorkload.run(steps: 2_500, store: store, model: &model, generator: &generator)
            #expect(try store.metricsMismatches(model, namespace: crm) == [])
            let report = try store.checkRecordsConsistency()
            #expect(report.problems == [])
            #expect(report.eventCount == model.events.values.reduce(0) { $0 + $1.count })
            #expect(report.eventCount > 1_000)
        }
    }
}

/// A random workload of campaigns and metric events, mirrored in a `MetricsModel`.
enum MetricsWorkload {
    static let t0: Int64 = 1_700_000_000_000_000

    static func run(steps: Int, store: EngramStore, model: inout MetricsModel, generator: inout SplitMix64, durability: Durability = .applied) async throws {
        for _ in 0..<steps { try await step(store: store, model: &model, generator: &generator, durability: durability) }
    }

    static func step(store: EngramStore, model: inout MetricsModel, generator: inout SplitMix64, durability: Durability) async throws {
        let ids = Array(model.campaigns.keys)
        let roll = generator.below(100)
        if roll < 8 || ids.isEmpty {
            let id = testID(generator.below(40))
            let campaign = try await store.write(CampaignUpsert(namespace: crm, id: id, name: "c", type: ["email", "ads", "social"][generator.below(3)],
                                                                status: CampaignStatus.allCases[generator.below(4)], budgetCents: Int64(generator.below(1_000_000))), durability: durability)
            model.campaigns[id] = campaign
        } else if roll < 88 {
            let count = 1 + generator.below(4)
            let events = (0..<count).map { _ in
                CampaignMetricEvent(campaignID: ids[generator.below(ids.count)], timeMicroseconds: t0 + Int64(generator.below(72 * 60)) * 60_000_000,
                                    sent: UInt32(generator.below(10_000)), opened: UInt32(generator.below(3_000)), clicked: UInt32(generator.below(500)), converted: UInt32(generator.below(50)))
            }
            let sequences = try await store.write(CampaignMetricAppend(namespace: crm, events: events), durability: durability)
            for (event, sequence) in zip(events, sequences) {
                var stored = event
                stored.sequence = sequence
                model.events[event.campaignID, default: []].append(stored)
            }
        } else if roll < 98 {
            let id = ids[generator.below(ids.count)]
            let before = t0 + Int64(generator.below(72)) * 3_600_000_000
            let countMax = 1 + generator.below(5)
            let deleted = try await store.write(CampaignMetricsDelete(namespace: crm, campaignID: id, beforeMicroseconds: before, countMax: countMax), durability: durability)
            let expected = model.deleteOldest(id, before: before, countMax: countMax)
            if deleted != expected { Issue.record("metrics delete removed \(deleted), the model \(expected)") }
        } else {
            let id = ids[generator.below(ids.count)]
            if try await store.write(CampaignDelete(namespace: crm, id: id), durability: durability) != true { Issue.record("delete of \(id) found nothing") }
            model.campaigns[id] = nil
            model.events[id] = nil
        }
    }
}
