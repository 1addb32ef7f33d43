@testable import EngramStorage
import FoundationEssentials
import Testing

@Suite struct CampaignTests {
    func campaign(_ number: Int, _ status: CampaignStatus, _ type: String, budget: Int64 = 100) -> CampaignUpsert {
        CampaignUpsert(namespace: crm, id: testID(number), name: "Campaign \(number)", type: type, status: status, budgetCents: budget)
    }

    @Test func upsertGetAndDelete() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let first = try await store.write(CampaignUpsert(namespace: crm, id: testID(1), name: "Spring", type: "email", status: .draft, budgetCents: 125_000, createdAtMicroseconds: 42))
            #expect(first.createdAtMicroseconds == 42)
            #expect(try store.campaignGet(namespace: crm, id: testID(1)) == first)
            let second = try await store.write(CampaignUpsert(namespace: crm, id: testID(1), name: "Spring sale", type: "ads", status: .active, budgetCents: 0))
            #expect(second.createdAtMicroseconds == 42)
            #expect(second.version > first.version)
            #expect(try store.campaignGet(namespace: crm, id: testID(1)) == second)
            #expect(try store.campaignQuery(namespace: crm, status: .draft, limit: 10).campaigns == [], "the old status entry is gone")
            #expect(try store.campaignQuery(namespace: crm, status: .active, type: "ads", limit: 10).campaigns == [second])
            #expect(try await store.write(CampaignDelete(namespace: crm, id: testID(1))))
            #expect(try await store.write(CampaignDelete(namespace: crm, id: testID(1))) == false)
            #expect(try store.campaignGet(namespace: crm, id: testID(1)) == nil)
            #expect(try store.campaignQuery(namespace: crm, limit: 10).campaigns == [])
            #expect(try store.checkRecordsConsistency().problems == [])
        }
    }

    @Test func invalidCampaignsAreRefused() async throws {
        try await withStore(limits: recordLimits()) { (store: EngramStore, _: TemporaryDirectory) async throws in
            func refused(_ command: CampaignUpsert) async -> EngramError? { await engramError { _ = try await store.write(command) } }
            #expect(await refused(CampaignUpsert(namespace: crm, id: testID(1), name: "", type: "email", status: .draft, budgetCents: 0)) == EngramError(.invalidArgument, "name is 0 bytes, at least 1 needed"))
            #expect(await refused(CampaignUpsert(namespace: crm, id: testID(1), name: "n", type: "", status: .draft, budgetCents: 0)) == EngramError(.invalidArgument, "type is 0 bytes, at least 1 needed"))
            #expect(await refused(CampaignUpsert(namespace: crm, id: testID(1), name: "n", type: "e", status: .draft, budgetCents: -1)) == EngramError(.invalidArgument, "budget_cents -1 is outside 0...9007199254740992"))
            #expect(await refused(CampaignUpsert(namespace: crm, id: testID(1), name: "n", type: "e", status: .draft, budgetCents: (1 << 53) + 1)) == EngramError(.invalidArgument, "budget_cents 9007199254740993 is outside 0...9007199254740992"))
            #expect(try store.campaignGet(namespace: crm, id: testID(1)) == nil)
        }
    }

    /// Queries by status and type against a model, every combination, paged by one and by three.
    @Test func queriesByStatusAndTypeInIndexOrder() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            var generator = SplitMix64(seed: 5)
            let types = ["ads", "email", "e", "email2", "social"]
            var model: [UUID: Campaign] = [:]
            for number in 0..<80 {
                let stored = try await store.write(campaign(number, CampaignStatus.allCases[generator.below(4)], types[generator.below(5)]))
                model[stored.id] = stored
            }
            for number in stride(from: 0, to: 80, by: 7) {
                let stored = try await store.write(campaign(number, CampaignStatus.allCases[generator.below(4)], types[generator.below(5)]))
                model[stored.id] = stored
            }
            for number in stride(from: 3, to: 80, by: 11) {
                #expect(try await store.write(CampaignDelete(namespace: crm, id: testID(number))))
                model[testID(number)] = nil
            }
            _ = try await store.write(CampaignUpsert(namespace: billing, id: testID(500), name: "other", type: "email", status: .active, budgetCents: 1))
            func expected(_ status: CampaignStatus?, _ type: String?) -> [Campaign] {
                model.values.filter { (status == nil || $0.status == status) && (type == nil || $0.type == type) }
                    .sorted { indexOrder($0, $1) }
            }
            for status in [nil] + CampaignStatus.allCases.map(Optional.some) {
                for type in [nil] + types.map(Optional.some) {
                    for limit in [1, 3, 1_000] {
                        var collected: [Campaign] = []
                        var after: CampaignCursor?
                        var pages = 0
                        repeat {
                            let page = try store.campaignQuery(namespace: crm, status: status, type: type, after: after, limit: limit)
                            #expect(page.campaigns.count <= limit)
                            collected += page.campaigns
                            after = page.next
                            pages += 1
                        } while after != nil && pages < 200
                        #expect(collected == expected(status, type), "status \(String(describing: status)) type \(String(describing: type)) limit \(limit)")
                    }
                }
            }
            #expect(try store.checkRecordsConsistency().campaignCount == model.count + 1)
        }
    }
}

/// The `campaign_statuses` order: status, then type bytes, then id bytes.
func indexOrder(_ a: Campaign, _ b: Campaign) -> Bool {
    if a.status != b.status { return a.status.rawValue < b.status.rawValue }
    if a.type != b.type { return Array(a.type.utf8).lexicographicallyPrecedes(Array(b.type.utf8)) }
    return a.id.testBytes.lexicographicallyPrecedes(b.id.testBytes)
}
