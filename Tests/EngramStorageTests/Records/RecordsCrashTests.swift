@testable import EngramStorage
import FoundationEssentials
import Testing

/// Records after a crash: `simulateCrash()` (as kill -9: the page cache survives) and a power cut
/// through `FaultInjectingFileSystem` (unsynced writes lost or torn). Every acknowledged durable
/// write is there, the indexes, summaries and hourly buckets agree with their records and events,
/// and what a power cut took is a suffix of the unsynced writes.
@Suite struct RecordsCrashTests {
    /// What the store holds, read through its public API, to compare with the models.
    struct State: Equatable {
        var leads: [UUID: Lead] = [:]
        var campaigns: [UUID: Campaign] = [:]
        var totals: [UUID: CampaignTotals] = [:]

        init(leads: LeadModel, metrics: MetricsModel) {
            self.leads = leads.leads
            campaigns = metrics.campaigns
            for id in metrics.campaigns.keys { totals[id] = metrics.totals(id) }
        }

        init(_ store: EngramStore) throws {
            var query = LeadQuery(order: .newest, limit: 1_000)
            repeat {
                let page = try store.leadQuery(namespace: crm, query)
                for lead in page.leads { leads[lead.id] = lead }
                query.cursor = page.next
            } while query.cursor != nil
            var after: CampaignCursor?
            repeat {
                let page = try store.campaignQuery(namespace: crm, after: after, limit: 1_000)
                for campaign in page.campaigns {
                    campaigns[campaign.id] = campaign
                    totals[campaign.id] = try store.campaignPerformance(namespace: crm, id: campaign.id)?.totals
                }
                after = page.next
            } while after != nil
        }
    }

    func open(_ directory: TemporaryDirectory, _ limits: Limits, _ fileSystem: any FileSystem = PosixFileSystem()) throws -> EngramStore {
        try EngramStore.open(StoreConfiguration(directory: directory.path, limits: limits, fileSystem: fileSystem))
    }

    func mixed(_ store: EngramStore, leads: inout LeadQueryDifferentialTests.Workload, metrics: inout MetricsModel, generator: inout SplitMix64, steps: Int, durability: Durability) async throws {
        leads.durability = durability
        for _ in 0..<steps {
            if generator.chance(60) {
                try await leads.step(store)
            } else {
                try await MetricsWorkload.step(store: store, model: &metrics, generator: &generator, durability: durability)
            }
        }
    }

    @Test func aCrashReplaysRecordsIndexesAndSummariesIdentically() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var limits = recordLimits()
        limits.checkpointLogBytes = 128 << 10 // checkpoints happen mid-run, and replay starts after one
        let store = try open(directory, limits)
        var leads = LeadQueryDifferentialTests.Workload(seed: 31)
        var metrics = MetricsModel()
        var generator = SplitMix64(seed: 32)
        try await mixed(store, leads: &leads, metrics: &metrics, generator: &generator, steps: 2_500, durability: .applied)
        try await mixed(store, leads: &leads, metrics: &metrics, generator: &generator, steps: 30, durability: .durable)
        #expect(store.statistics.checkpointCount >= 2)
        let before = try State(store)
        #expect(before == State(leads: leads.model, metrics: metrics))
        store.simulateCrash()

        let reopened = try open(directory, limits)
        defer { reopened.close() }
        #expect(reopened.recovery.recordsReplayed > 0)
        #expect(try State(reopened) == before)
        #expect(try reopened.metricsMismatches(metrics, namespace: crm) == [])
        let report = try reopened.checkRecordsConsistency()
        #expect(report.problems == [])
        #expect(report.leadCount == leads.model.leads.count)
        // The store goes on from the replayed state: versions keep growing, emails stay unique.
        try await mixed(reopened, leads: &leads, metrics: &metrics, generator: &generator, steps: 200, durability: .applied)
        #expect(try State(reopened) == State(leads: leads.model, metrics: metrics))
        #expect(try reopened.checkRecordsConsistency().problems == [])
    }

    @Test func powerLossKeepsDurableRecordsAndCutsOnlyAnUnsyncedSuffix() async throws {
        for seed in UInt64(0)..<6 {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let fileSystem = FaultInjectingFileSystem()
            var limits = faultLimits()
            limits.mapBytes = 1 << 30
            limits.appliedSyncDelayMilliseconds = 60_000
            let store = try open(directory, limits, fileSystem)
            var leads = LeadQueryDifferentialTests.Workload(seed: 100 + seed)
            var metrics = MetricsModel()
            var generator = SplitMix64(seed: 200 + seed)
            try await mixed(store, leads: &leads, metrics: &metrics, generator: &generator, steps: 300, durability: .durable)
            // Unsynced writes at the end: a power cut may take any suffix of them, nothing else.
            var snapshots = [State(leads: leads.model, metrics: metrics)]
            for _ in 0..<12 {
                try await mixed(store, leads: &leads, metrics: &metrics, generator: &generator, steps: 1, durability: .applied)
                snapshots.append(State(leads: leads.model, metrics: metrics))
            }
            store.simulateCrash()
            try fileSystem.powerLoss(seed: seed, keepNone: seed == 0)

            let reopened = try open(directory, limits)
            defer { reopened.close() }
            let state = try State(reopened)
            let survivors = snapshots.firstIndex(of: state)
            #expect(survivors != nil, "seed \(seed): the state after the power cut is the state after some prefix of the writes")
            if seed == 0 { #expect(survivors == 0, "with every unsynced write dropped, only the durable ones remain") }
            let report = try reopened.checkRecordsConsistency()
            #expect(report.problems == [], "seed \(seed)")
            #expect(report.leadCount == state.leads.count)
            // Summaries equal the sum of the surviving events, campaign by campaign.
            for (id, totals) in state.totals {
                var sum = CampaignTotals()
                for event in try reopened.allEvents(crm, id) { _ = sum.add(event) }
                #expect(sum == totals, "seed \(seed) campaign \(id)")
            }
        }
    }
}
