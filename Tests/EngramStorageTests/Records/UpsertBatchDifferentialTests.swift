@testable import EngramStorage
import FoundationEssentials
import Testing

/// Upsert batches against single upserts: one seeded workload of lead and campaign upserts (new
/// leads, updates of score, status and email, emails taken by other leads, the same id twice in a
/// batch, fields out of range) and metric appends, run once one command at a time and once in
/// batches of random sizes, gives the same store: every entry of every record table, indexes and
/// campaign summaries and hourly buckets included, byte for byte but for `updated_at` (the batch
/// time), and the same outcome for every upsert.
@Suite struct UpsertBatchDifferentialTests {
    static let statuses = ["new", "contacted", "qualified", "converted", "lost"]
    static let baseTime: Int64 = 1_700_000_000_000_000

    /// One step of the workload: a lead or campaign upsert, or a metric append.
    enum Step {
        case lead(LeadUpsert)
        case campaign(CampaignUpsert)
        case metrics([CampaignMetricEvent])
    }

    static func workload(seed: UInt64, count: Int) -> [Step] {
        var generator = SplitMix64(seed: seed)
        var leadIDs: [UUID] = []
        var campaignIDs: [UUID] = []
        var steps: [Step] = []
        for _ in 0..<count {
            let roll = generator.below(100)
            if roll < 75 {
                // Every upsert gives a creation time, so no record or index key depends on the
                // batch time (an "update" whose insert was refused creates the lead); an update
                // keeps the stored lead's time, not the one it gives.
                let isUpdate = !leadIDs.isEmpty && generator.chance(35)
                let id = isUpdate ? leadIDs[generator.below(leadIDs.count)] : generator.uuid()
                if !isUpdate { leadIDs.append(id) }
                let email = generator.chance(25) ? "User\(generator.below(400))@Example.com" : "user\(generator.below(4_000))@example.com"
                let score = generator.chance(3) ? 101 : generator.below(101)
                let createdAt = baseTime + Int64(generator.below(500)) * 60_000_000
                steps.append(.lead(LeadUpsert(namespace: crm, id: id, email: email, name: "n\(generator.below(100))", company: "c", source: ["web", "ads", ""][generator.below(3)],
                                              category: "b2b", score: score, status: statuses[generator.below(5)], metadata: generator.chance(30) ? bytes("{\"v\":\(generator.below(9))}") : [],
                                              createdAtMicroseconds: createdAt)))
            } else if roll < 85 || campaignIDs.isEmpty {
                let isUpdate = !campaignIDs.isEmpty && generator.chance(30)
                let id = isUpdate ? campaignIDs[generator.below(campaignIDs.count)] : generator.uuid()
                if !isUpdate { campaignIDs.append(id) }
                let name = generator.chance(5) ? "" : "Campaign \(generator.below(50))"
                steps.append(.campaign(CampaignUpsert(namespace: crm, id: id, name: name, type: ["email", "ads"][generator.below(2)], status: [.draft, .active, .paused][generator.below(3)],
                                                      budgetCents: Int64(generator.below(1_000_000)), createdAtMicroseconds: baseTime)))
            } else {
                // Events of campaigns that may have been refused (an empty name): the append
                // fails as a whole in both runs alike.
                let events = (0..<(1 + generator.below(5))).map { _ in
                    CampaignMetricEvent(campaignID: campaignIDs[generator.below(campaignIDs.count)], timeMicroseconds: baseTime + Int64(generator.below(48)) * 3_600_000_000,
                                        sent: UInt32(generator.below(100)), opened: UInt32(generator.below(40)), clicked: UInt32(generator.below(10)), converted: UInt32(generator.below(3)))
                }
                steps.append(.metrics(events))
            }
        }
        return steps
    }

    /// Runs the steps one command each; returns each step's outcome code (nil: done).
    static func runSingly(_ steps: [Step], _ store: EngramStore) async -> [EngramError.Code?] {
        var codes: [EngramError.Code?] = []
        for step in steps {
            let error = await engramError {
                switch step {
                case .lead(let upsert): _ = try await store.write(upsert, durability: .applied)
                case .campaign(let upsert): _ = try await store.write(upsert, durability: .applied)
                case .metrics(let events): _ = try await store.write(CampaignMetricAppend(namespace: crm, events: events), durability: .applied)
                }
            }
            codes.append(error?.code)
        }
        return codes
    }

    /// Runs runs of leads, and of campaigns, as upsert batches of up to `batchCountMax` items.
    static func runInBatches(_ steps: [Step], _ store: EngramStore, seed: UInt64) async throws -> [EngramError.Code?] {
        var generator = SplitMix64(seed: seed)
        var codes: [EngramError.Code?] = []
        var index = 0
        func codesOf<Stored>(_ outcome: UpsertBatchOutcome<Stored>) -> [EngramError.Code?] {
            outcome.results.map { result in
                if case .failure(let error) = result { return error.code }
                return nil
            }
        }
        while index < steps.count {
            let size = 1 + generator.below(40)
            var leads: [LeadUpsert] = [], campaigns: [CampaignUpsert] = []
            while index < steps.count, leads.count + campaigns.count < size {
                if case .lead(let upsert) = steps[index], campaigns.isEmpty { leads.append(upsert) }
                else if case .campaign(let upsert) = steps[index], leads.isEmpty { campaigns.append(upsert) }
                else { break }
                index += 1
            }
            if !leads.isEmpty {
                codes += codesOf(try await store.write(LeadUpsertBatch(namespace: crm, upserts: leads, limits: store.limits), durability: .applied))
            } else if !campaigns.isEmpty {
                codes += codesOf(try await store.write(CampaignUpsertBatch(namespace: crm, upserts: campaigns, limits: store.limits), durability: .applied))
            } else {
                codes += await runSingly([steps[index]], store)
                index += 1
            }
        }
        return codes
    }

    /// Every entry of every record table, as hex, with the records' `updated_at` zeroed.
    static func dump(_ store: EngramStore) throws -> [String] {
        let tables = store.tables.records
        return try store.read { (transaction) throws(EngramError) -> [String] in
            var lines: [String] = []
            for table in tables.all {
                let cursor = try transaction.cursor(table)
                defer { cursor.close() }
                var entry = try cursor.first()
                while let current = entry {
                    var value = Array(current.value)
                    if table.name == tables.leads.name || table.name == tables.campaigns.name {
                        // updated_at: bytes 36..<44 of both record layouts (docs/RECORDS.md).
                        for offset in 36..<44 { value[offset] = 0 }
                    }
                    lines.append("\(table.name) \(hex(Array(current.key))) \(hex(value))")
                    entry = try cursor.next()
                }
            }
            return lines
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func batchesLeaveTheStoreSingleUpsertsLeave(seed: UInt64) async throws {
        let steps = Self.workload(seed: seed, count: 1_500)
        let single = try await withStore(limits: recordLimits()) { store, _ in
            let codes = await Self.runSingly(steps, store)
            #expect(try store.checkRecordsConsistency().problems == [])
            return (codes, try Self.dump(store))
        }
        let batched = try await withStore(limits: recordLimits()) { store, _ in
            let codes = try await Self.runInBatches(steps, store, seed: seed)
            #expect(try store.checkRecordsConsistency().problems == [])
            return (codes, try Self.dump(store))
        }
        #expect(batched.0 == single.0, "every step's outcome is the same")
        #expect(batched.1.count == single.1.count)
        let differing = zip(batched.1, single.1).first { $0 != $1 }
        #expect(differing == nil, "every table entry is the same; the first that is not: \(String(describing: differing))")
        // The workload reached every path: refusals of each kind, and enough stored.
        let refusals = Set(single.0.compactMap { $0 })
        #expect(refusals.isSuperset(of: [.alreadyExists, .invalidArgument]), "\(refusals)")
        #expect(single.0.count { $0 == nil } > 1_000)
        #expect(single.1.contains { $0.hasPrefix("campaign_summaries ") } && single.1.contains { $0.hasPrefix("lead_statuses ") })
    }
}
