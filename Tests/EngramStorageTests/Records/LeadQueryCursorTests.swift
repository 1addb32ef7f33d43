@testable import EngramStorage
import FoundationEssentials
import Testing

/// The order of ties and what a cursor means when rows change between pages
/// (docs/RECORDS.md, "Cursor"): each case of the spec, in both orders where it differs.
@Suite struct LeadQueryCursorTests {
    static let day: Int64 = 86_400_000_000
    static let t0: Int64 = 1_700_000_000_000_000

    /// Imports a lead with a chosen creation time.
    @discardableResult
    func put(_ store: EngramStore, _ number: Int, score: Int, created: Int64, status: String = "new") async throws -> Lead {
        try await store.write(LeadUpsert(namespace: crm, id: testID(number), email: "l\(number)@x.io", score: score, status: status, createdAtMicroseconds: created))
    }

    func ids(_ page: LeadPage) -> [UUID] { page.leads.map(\.id) }

    @Test func tiesAreBrokenExactlyAsSpecified() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            // Inserted out of order on purpose.
            try await put(store, 3, score: 90, created: Self.t0)
            try await put(store, 1, score: 90, created: Self.t0)
            try await put(store, 2, score: 95, created: Self.t0)
            try await put(store, 4, score: 90, created: Self.t0 + 1)
            try await put(store, 5, score: 95, created: Self.t0 - 1)
            let byScore = try store.leadQuery(namespace: crm, LeadQuery(limit: 10))
            // Score descending, then newest, then id ascending.
            #expect(ids(byScore) == [testID(2), testID(5), testID(4), testID(1), testID(3)])
            let newest = try store.leadQuery(namespace: crm, LeadQuery(order: .newest, limit: 10))
            // created_at descending, then score descending, then id ascending.
            #expect(ids(newest) == [testID(4), testID(2), testID(1), testID(3), testID(5)])
            // Ids compare as unsigned bytes: a high first byte sorts last.
            _ = try await store.write(LeadUpsert(namespace: crm, id: testID(0, high: 0xFF00_0000_0000_0000), email: "hi@x.io", score: 90, status: "new", createdAtMicroseconds: Self.t0))
            let ties = try store.leadQuery(namespace: crm, LeadQuery(scoreMin: 90, createdAtOrAfterMicroseconds: Self.t0, limit: 10))
            #expect(ids(ties) == [testID(2), testID(4), testID(1), testID(3), testID(0, high: 0xFF00_0000_0000_0000)])
        }
    }

    @Test func oneRowPagesWalkTiesWithoutSkippingOrRepeating() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            for number in 0..<12 { try await put(store, number, score: 50 + number % 2, created: Self.t0 + Int64(number % 3)) }
            for order in [LeadQuery.Order.scoreThenNewest, .newest] {
                let all = try ids(store.leadQuery(namespace: crm, LeadQuery(order: order, limit: 100)))
                var walked: [UUID] = []
                var query = LeadQuery(order: order, limit: 1)
                while true {
                    let page = try store.leadQuery(namespace: crm, query)
                    walked += ids(page)
                    guard let next = page.next else { break }
                    #expect(next == LeadCursor(order: order, score: page.leads[0].score, createdAtMicroseconds: page.leads[0].createdAtMicroseconds, id: page.leads[0].id))
                    query.cursor = next
                }
                #expect(walked == all, "\(order)")
                #expect(walked.count == 12)
            }
        }
    }

    @Test func rowsChangingBetweenPagesScoreOrder() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            // Scores 90, 80, 70, 60, 50 for leads 1...5, all created at t0.
            for number in 1...5 { try await put(store, number, score: 100 - 10 * number, created: Self.t0) }
            let first = try store.leadQuery(namespace: crm, LeadQuery(limit: 2))
            #expect(ids(first) == [testID(1), testID(2)])
            let cursor = try #require(first.next)
            // Inserted after the position (score 75): appears on the next page.
            try await put(store, 6, score: 75, created: Self.t0)
            // Lead 4's score rises past the position (to 95): sorts before it now, never returned.
            try await put(store, 4, score: 95, created: Self.t0)
            // Lead 1, already returned, falls after the position (to 55): returned again.
            try await put(store, 1, score: 55, created: Self.t0)
            // Lead 2 is the cursor's own row; deleting it does not lose the place.
            #expect(try await store.write(LeadDelete(namespace: crm, id: testID(2))))
            let second = try store.leadQuery(namespace: crm, LeadQuery(limit: 10, cursor: cursor))
            #expect(ids(second) == [testID(6), testID(3), testID(1), testID(5)])
            #expect(second.next == nil)
        }
    }

    @Test func rowsChangingBetweenPagesNewestOrder() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            // Created t0+5 ... t0+1 for leads 1...5 (lead 1 newest), all score 50.
            for number in 1...5 { try await put(store, number, score: 50, created: Self.t0 + Int64(6 - number)) }
            let first = try store.leadQuery(namespace: crm, LeadQuery(order: .newest, limit: 2))
            #expect(ids(first) == [testID(1), testID(2)])
            let cursor = try #require(first.next)
            // Inserted older than the position: appears. Inserted newer: sorts before it, not seen.
            try await put(store, 6, score: 50, created: Self.t0 + 3)
            try await put(store, 7, score: 50, created: Self.t0 + 9)
            // Same created_at as the position (lead 2, t0+4) with a lower score sorts after it;
            // with a higher score, before it.
            try await put(store, 8, score: 40, created: Self.t0 + 4)
            try await put(store, 9, score: 60, created: Self.t0 + 4)
            #expect(try await store.write(LeadDelete(namespace: crm, id: testID(2))))
            let second = try store.leadQuery(namespace: crm, LeadQuery(order: .newest, limit: 10, cursor: cursor))
            #expect(ids(second) == [testID(8), testID(3), testID(6), testID(4), testID(5)])
        }
    }

    @Test func filtersMayChangeBetweenPagesAndThePositionKeepsItsMeaning() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            for number in 1...6 { try await put(store, number, score: 40 + number * 10 - (number % 2) * 5, created: Self.t0, status: number % 2 == 0 ? "hot" : "cold") }
            // Scores: 1→45, 2→60, 3→65, 4→80, 5→85, 6→100.
            let first = try store.leadQuery(namespace: crm, LeadQuery(limit: 2))
            #expect(ids(first) == [testID(6), testID(5)])
            let second = try store.leadQuery(namespace: crm, LeadQuery(status: "hot", limit: 10, cursor: first.next))
            #expect(ids(second) == [testID(4), testID(2)])
        }
    }

    /// The agents' two everyday questions visit only what they return: 10,000 leads, of which the
    /// queries match a few hundred; the walk examines one index entry per lead returned (plus one
    /// to know whether more follow) and seeks at most once per score value.
    @Test func theEverydayQueriesAreIndexWalksNotScans() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let now = Self.t0 + 30 * Self.day
            var model = LeadModel()
            try await withThrowingTaskGroup(of: Lead.self) { group in
                for number in 0..<10_000 {
                    // Created every 4.32 minutes over 30 days, scores cycling 0...100.
                    group.addTask {
                        try await store.write(LeadUpsert(namespace: crm, id: testID(number), email: "l\(number)@x.io", score: number % 101,
                                                         status: ["new", "contacted", "qualified", "lost"][number % 4], createdAtMicroseconds: now - Int64(number) * Self.day / 333), durability: .applied)
                    }
                }
                for try await lead in group { model.put(lead) }
            }
            let lastDay = LeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: now - Self.day, limit: 100)
            var leads: [Lead] = []
            let scoreWalk = try store.leadQueryCounting(namespace: crm, lastDay) { (view) throws(EngramError) in leads.append(try view.lead()) }
            #expect(leads == model.all(lastDay))
            #expect(leads.count == 60, "the leads of the last day with a score of 81 or more")
            #expect(scoreWalk.next == nil)
            #expect(scoreWalk.examined == 60, "one index entry per lead returned")
            #expect(scoreWalk.seeks <= 21, "one seek to start and at most one per score from 100 down to 81")

            let qualified = LeadQuery(status: "qualified", limit: 100)
            leads = []
            let statusWalk = try store.leadQueryCounting(namespace: crm, qualified) { (view) throws(EngramError) in leads.append(try view.lead()) }
            #expect(leads == Array(model.all(qualified).prefix(100)))
            #expect(statusWalk.next != nil)
            #expect(statusWalk.examined == 101, "a full page and one entry of look-ahead")
            #expect(statusWalk.seeks == 1)

            let newest = LeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: now - Self.day, order: .newest, limit: 100)
            leads = []
            let mergeWalk = try store.leadQueryCounting(namespace: crm, newest) { (view) throws(EngramError) in leads.append(try view.lead()) }
            #expect(leads == model.all(newest))
            #expect(mergeWalk.examined == 60)
            #expect(mergeWalk.seeks <= 20 + 60, "one seek per score's run, then one per lead returned")
        }
    }
}
