@testable import EngramStorage
import FoundationEssentials
import Testing

/// Lead queries against `LeadModel`: a random workload of upserts (score, status, source and email
/// changes, email conflicts) and deletes over more than 10,000 leads, with more than 1,000 random
/// queries paged to their end, identical page for page.
@Suite struct LeadQueryDifferentialTests {
    static let statuses = ["new", "contacted", "qualified", "converted", "lost"]
    static let sources = ["web", "ads", "referral", "event", "partner", ""]
    static let baseTime: Int64 = 1_700_000_000_000_000

    struct Workload {
        var generator: SplitMix64
        var durability = Durability.applied
        var model = LeadModel()
        var ids: [UUID] = []
        var inserted = 0
        var conflicts = 0
        var deletes = 0

        init(seed: UInt64) { generator = SplitMix64(seed: seed) }

        mutating func email() -> String {
            let number = generator.below(14_000)
            return generator.chance(30) ? "User\(number)@Example.COM" : "user\(number)@example.com"
        }

        /// Creation times from a small set, so (score, created_at) ties are common and the id
        /// decides; some leads take the batch time instead.
        mutating func createdAt() -> Int64? {
            generator.chance(20) ? nil : LeadQueryDifferentialTests.baseTime + Int64(generator.below(400)) * 60_000_000
        }

        mutating func step(_ store: EngramStore) async throws {
            let roll = generator.below(100)
            if roll < 62 || ids.isEmpty {
                let lead = Lead(id: generator.uuid(), email: email(), name: "n\(generator.below(1000))", company: "c", source: LeadQueryDifferentialTests.sources[generator.below(6)],
                                category: "b2b", score: generator.below(101), status: LeadQueryDifferentialTests.statuses[generator.below(5)],
                                metadata: generator.chance(30) ? bytes("{\"visits\":\(generator.below(50))}") : [], createdAtMicroseconds: 0, updatedAtMicroseconds: 0, version: 0)
                try await put(lead, createdAt: createdAt(), store)
            } else if roll < 90 {
                var lead = model.leads[ids[generator.below(ids.count)]]!
                switch generator.below(4) {
                case 0: lead.score = generator.below(101)
                case 1: lead.status = LeadQueryDifferentialTests.statuses[generator.below(5)]
                case 2: lead.email = email()
                default:
                    lead.score = generator.below(101)
                    lead.source = LeadQueryDifferentialTests.sources[generator.below(6)]
                }
                try await put(lead, createdAt: createdAt(), store)
            } else {
                let index = generator.below(ids.count)
                let id = ids[index]
                ids.swapAt(index, ids.count - 1)
                ids.removeLast()
                #expect(try await store.write(LeadDelete(namespace: crm, id: id), durability: durability) == true)
                model.delete(id)
                deletes += 1
            }
        }

        mutating func put(_ lead: Lead, createdAt: Int64?, _ store: EngramStore) async throws {
            let existing = model.leads[lead.id]
            if let owner = model.owner(ofEmail: lead.email), owner != lead.id {
                let error = await engramError { _ = try await store.write(upsert(lead, createdAt: createdAt), durability: durability) }
                #expect(error == EngramError(.alreadyExists, "email \"\(lead.email)\" already belongs to lead \(owner.uuidString) in namespace crm"))
                conflicts += 1
                return
            }
            let stored = try await store.write(upsert(lead, createdAt: createdAt), durability: durability)
            #expect(stored.email == lead.email && stored.score == lead.score && stored.status == lead.status && stored.source == lead.source)
            if let existing {
                #expect(stored.createdAtMicroseconds == existing.createdAtMicroseconds)
                #expect(stored.version > existing.version)
            } else {
                #expect(stored.createdAtMicroseconds == createdAt ?? stored.updatedAtMicroseconds)
                ids.append(lead.id)
                inserted += 1
            }
            model.put(stored)
        }

        mutating func randomQuery() -> LeadQuery {
            let scoreMin = [0, 50, 80, 81, 95, 100, generator.below(101)][generator.below(7)]
            let since: Int64 = generator.chance(40) ? 0 : LeadQueryDifferentialTests.baseTime + Int64(generator.below(420)) * 60_000_000
            return LeadQuery(scoreMin: scoreMin, createdAtOrAfterMicroseconds: since,
                             status: generator.chance(50) ? LeadQueryDifferentialTests.statuses[generator.below(5)] : nil,
                             source: generator.chance(25) ? LeadQueryDifferentialTests.sources[generator.below(6)] : nil,
                             order: generator.chance(50) ? .scoreThenNewest : .newest, limit: [1, 2, 7, 25, 100, 1 + generator.below(60)][generator.below(6)])
        }
    }

    /// Pages through `query` to its end (or `pageCountMax` pages), checking each page against the
    /// model: the next `limit` matching leads after the cursor, exactly, and a cursor exactly when
    /// more remain.
    static func checkPages(_ start: LeadQuery, store: EngramStore, model: LeadModel, pageCountMax: Int) throws -> Int {
        var query = start
        var pages = 0
        // Nothing changes between these pages, so the model's list is computed once.
        let all = model.allIDs(start)
        var offset = 0
        while pages < pageCountMax {
            let page = try store.leadQuery(namespace: crm, query)
            pages += 1
            let expected = all[offset..<min(all.count, offset + query.limit)].map { model.leads[$0]! }
            #expect(page.leads == expected, "\(query) page \(pages): \(page.leads.count) leads, expected \(expected.count)")
            if all.count > offset + query.limit {
                #expect(page.next == expected.last.map { LeadCursor(order: query.order, score: $0.score, createdAtMicroseconds: $0.createdAtMicroseconds, id: $0.id) }, "\(query) page \(pages)")
            } else {
                #expect(page.next == nil, "\(query) page \(pages): the query is complete")
            }
            guard let next = page.next, page.leads == expected else { break }
            query.cursor = next
            offset += query.limit
        }
        return pages
    }

    @Test func queriesMatchTheModelPageForPage() async throws {
        var limits = recordLimits()
        // Large enough that no page here stops at the examination bound, so every page is exact;
        // the bound itself is tested below.
        limits.leadQueryExamineCountMax = 1_000_000
        try await withStore(limits: limits) { store, _ in
            var workload = Workload(seed: 20_240_601)
            var queries = 0
            var pages = 0
            while workload.inserted < 10_500 {
                for _ in 0..<1_000 { try await workload.step(store) }
                for _ in 0..<75 {
                    pages += try Self.checkPages(workload.randomQuery(), store: store, model: workload.model, pageCountMax: 10)
                    queries += 1
                }
            }
            // The agents' two everyday questions, paged to the end.
            let lastDay = LeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: Self.baseTime + 380 * 60_000_000, limit: 100)
            pages += try Self.checkPages(lastDay, store: store, model: workload.model, pageCountMax: 1_000)
            pages += try Self.checkPages(LeadQuery(status: "qualified", limit: 100), store: store, model: workload.model, pageCountMax: 1_000)
            #expect(workload.inserted >= 10_000)
            #expect(workload.deletes > 1_000)
            #expect(workload.conflicts > 100, "email conflicts were exercised")
            #expect(queries >= 1_000)
            #expect(pages > queries, "queries were paged")
            let report = try store.checkRecordsConsistency()
            #expect(report.problems == [])
            #expect(report.leadCount == workload.model.leads.count)
        }
    }

    /// With a tiny examination bound and a source filter, pages stop early, but the pages together
    /// are exactly the model's list, and each page holds exactly the matches up to its cursor.
    @Test func theExaminationBoundCutsPagesWithoutLosingRows() async throws {
        var limits = recordLimits()
        limits.leadQueryExamineCountMax = 7
        limits.recordPageCountMax = 5
        try await withStore(limits: limits) { store, _ in
            var workload = Workload(seed: 7)
            for _ in 0..<1_500 { try await workload.step(store) }
            var shortPages = 0
            for _ in 0..<60 {
                var query = workload.randomQuery()
                query.source = Self.sources[workload.generator.below(6)]
                var collected: [Lead] = []
                var pages = 0
                while true {
                    let page = try store.leadQuery(namespace: crm, query)
                    pages += 1
                    #expect(page.leads.count <= min(query.limit, 5))
                    if let next = page.next {
                        // Exactly the matches between the previous cursor and this one.
                        let between = workload.model.remaining(query).filter { !LeadModel.isAfter($0, next) }
                        #expect(page.leads == between)
                        if page.leads.count < min(query.limit, 5) { shortPages += 1 }
                        query.cursor = next
                    } else {
                        #expect(page.leads == workload.model.remaining(query))
                        collected += page.leads
                        break
                    }
                    collected += page.leads
                    if pages > 5_000 { Issue.record("no end"); break }
                }
                query.cursor = nil
                #expect(collected == workload.model.all(query))
            }
            #expect(shortPages > 0, "the bound cut some pages")
        }
    }

    @Test func invalidQueriesAreRefused() async throws {
        try await withStore(limits: recordLimits()) { (store: EngramStore, _: TemporaryDirectory) async throws in
            #expect(throws: EngramError(.invalidArgument, "scoreMin 101 is outside 0...100")) { _ = try store.leadQuery(namespace: crm, LeadQuery(scoreMin: 101, limit: 1)) }
            #expect(throws: EngramError(.invalidArgument, "a query limit must be positive, got 0")) { _ = try store.leadQuery(namespace: crm, LeadQuery(limit: 0)) }
            #expect(throws: EngramError(.invalidArgument, "status has control byte 0x0 at byte 1")) { _ = try store.leadQuery(namespace: crm, LeadQuery(status: "a\u{0}", limit: 1)) }
            let cursor = LeadCursor(order: .newest, score: 5, createdAtMicroseconds: 0, id: testID(1))
            #expect(throws: EngramError(.invalidArgument, "the cursor belongs to the newest order, the query asks for scoreThenNewest")) {
                _ = try store.leadQuery(namespace: crm, LeadQuery(limit: 1, cursor: cursor))
            }
            #expect(try store.leadQuery(namespace: crm, LeadQuery(limit: 10)) == LeadPage(leads: [], next: nil))
        }
    }
}
