@testable import EngramStorage
import FoundationEssentials
import Testing

/// The consistency check finds each kind of damage: records and index entries written straight
/// into LMDB, past the commit log, to break one rule at a time.
@Suite struct RecordsConsistencyTests {
    static let t0: Int64 = 1_700_000_000_000_000

    /// A store with two leads, two campaigns and a few events, consistent.
    func populated(_ body: (EngramStore) async throws -> Void) async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            _ = try await store.write(LeadUpsert(namespace: crm, id: testID(1), email: "ann@x.io", score: 80, status: "new", createdAtMicroseconds: Self.t0))
            _ = try await store.write(LeadUpsert(namespace: crm, id: testID(2), email: "bob@x.io", score: 40, status: "lost", createdAtMicroseconds: Self.t0))
            _ = try await store.write(CampaignUpsert(namespace: crm, id: testID(10), name: "A", type: "email", status: .active, budgetCents: 5))
            _ = try await store.write(CampaignUpsert(namespace: crm, id: testID(11), name: "B", type: "ads", status: .paused, budgetCents: 5))
            _ = try await store.write(CampaignMetricAppend(namespace: crm, events: [
                CampaignMetricEvent(campaignID: testID(10), timeMicroseconds: Self.t0, sent: 10, opened: 5, clicked: 1, converted: 0),
                CampaignMetricEvent(campaignID: testID(10), timeMicroseconds: Self.t0 + 3_600_000_000, sent: 20, opened: 5, clicked: 1, converted: 1),
                CampaignMetricEvent(campaignID: testID(11), timeMicroseconds: Self.t0, sent: 1, opened: 0, clicked: 0, converted: 0),
            ]))
            let report = try store.checkRecordsConsistency()
            #expect(report == RecordsConsistencyReport(leadCount: 2, campaignCount: 2, eventCount: 3, summaryCount: 2, hourlyBucketCount: 3))
            try await body(store)
        }
    }

    func key(_ build: (inout KeyWriter) -> Void) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 1) { buffer in
            var writer = KeyWriter(buffer)
            build(&writer)
            return Array(writer.bytes)
        }
    }

    func leadKey(_ number: Int) -> [UInt8] { key { $0.append(namespace: crm); $0.append(uuid: testID(number)) } }

    func scoreKey(_ number: Int, score: UInt8, created: Int64 = t0, status: String? = nil) -> [UInt8] {
        key { writer in
            writer.append(namespace: crm)
            if let status { Array(status.utf8).withUnsafeBytes { writer.append(terminatedText: $0) } }
            withUnsafeBytes(of: testID(number).uuid) { RecordKeys.appendScoreTail(&writer, score: score, createdAt: created, id: $0) }
        }
    }

    func put(_ transaction: LMDBTransaction, _ table: LMDBDatabase, _ key: [UInt8], _ value: [UInt8]) throws(EngramError) {
        try key.withBytes { (key) throws(EngramError) in
            try value.withBytes { (value) throws(EngramError) in
                try withUnsafeTemporaryAllocation(byteCount: 1, alignment: 1) { (empty) throws(EngramError) in
                    try transaction.put(table, key, value.count == 0 ? UnsafeRawBufferPointer(start: empty.baseAddress, count: 0) : value)
                }
            }
        }
    }

    func delete(_ transaction: LMDBTransaction, _ table: LMDBDatabase, _ key: [UInt8]) throws(EngramError) {
        let existed = try key.withBytes { (key) throws(EngramError) in try transaction.delete(table, key) }
        if !existed { throw EngramError(.notFound, "the test meant to delete an existing entry of \(table.name)") }
    }

    @Test func aStaleAndAMissingLeadIndexEntryAreFound() async throws {
        try await populated { store in
            try damage(store) { (transaction, tables) throws(EngramError) in
                // Lead 1's score entry says 81 instead of 80, and lead 2 loses its status entry.
                try delete(transaction, tables.leadScores, scoreKey(1, score: 80))
                try put(transaction, tables.leadScores, scoreKey(1, score: 81), [])
                try delete(transaction, tables.leadStatuses, scoreKey(2, score: 40, status: "lost"))
            }
            let problems = try store.checkRecordsConsistency().problems
            #expect(problems.map(\.table) == ["leads", "leads", "lead_scores"])
            #expect(problems[0] == RecordsProblem(table: "leads", key: leadKey(1), message: "no lead_scores entry for its score and created_at"))
            #expect(problems[1] == RecordsProblem(table: "leads", key: leadKey(2), message: "no lead_statuses entry for its status, score and created_at"))
            #expect(problems[2].key == scoreKey(1, score: 81))
            #expect(problems[2].message == "is stale: lead \(testID(1).uuidString)'s fields give \(printable(scoreKey(1, score: 80)))")
        }
    }

    @Test func emailEntriesMustNameTheirOwnLead() async throws {
        try await populated { store in
            let annEmail = key { writer in writer.append(namespace: crm); Array("ann@x.io".utf8).withUnsafeBytes { writer.append($0) } }
            let ghostEmail = key { writer in writer.append(namespace: crm); Array("ghost@x.io".utf8).withUnsafeBytes { writer.append($0) } }
            try damage(store) { (transaction, tables) throws(EngramError) in
                try put(transaction, tables.leadEmails, annEmail, testID(2).testBytes)
                try put(transaction, tables.leadEmails, ghostEmail, testID(3).testBytes)
            }
            let problems = try store.checkRecordsConsistency().problems
            #expect(problems == [
                RecordsProblem(table: "leads", key: leadKey(1), message: "its email's lead_emails entry names another lead, \(testID(2).uuidString)"),
                RecordsProblem(table: "lead_emails", key: annEmail, message: "is stale: lead \(testID(2).uuidString)'s fields give \(printable(key { writer in writer.append(namespace: crm); Array("bob@x.io".utf8).withUnsafeBytes { writer.append($0) } }))"),
                RecordsProblem(table: "lead_emails", key: ghostEmail, message: "names lead \(testID(3).uuidString), which does not exist"),
            ])
        }
    }

    @Test func aRecordThatBreaksItsRulesIsFound() async throws {
        try await populated { store in
            var lead = try #require(try store.leadGet(namespace: crm, id: testID(1)))
            lead.metadata = bytes("{bad}")
            try damage(store) { (transaction, tables) throws(EngramError) in try put(transaction, tables.leads, leadKey(1), lead.record) }
            #expect(try store.checkRecordsConsistency().problems == [
                RecordsProblem(table: "leads", key: leadKey(1), message: "the record metadata is not valid JSON at byte 1: a member name (a string) expected"),
            ])
            try damage(store) { (transaction, tables) throws(EngramError) in try put(transaction, tables.leads, leadKey(1), [1, 2, 3]) }
            #expect(try store.checkRecordsConsistency().problems == [
                RecordsProblem(table: "leads", key: leadKey(1), message: "the record does not decode: the reserved bytes needs 2 bytes, 1 remain"),
            ])
        }
    }

    @Test func summariesBucketsAndEventsMustAgree() async throws {
        try await populated { store in
            let campaign10 = key { $0.append(namespace: crm); $0.append(uuid: testID(10)) }
            let campaign11 = key { $0.append(namespace: crm); $0.append(uuid: testID(11)) }
            let hour0 = Self.t0 - Self.t0 % 3_600_000_000
            let bucket = { (campaign: [UInt8], hour: Int64) in campaign + withUnsafeBytes(of: UInt64(hour).bigEndian) { Array($0) } }
            try damage(store) { (transaction, tables) throws(EngramError) in
                // Campaign 10's summary is one send short; its second hour's bucket is lost.
                try put(transaction, tables.campaignSummaries, campaign10, TotalsLayout.record(CampaignTotals(eventCount: 2, sent: 29, opened: 10, clicked: 2, converted: 1)))
                try delete(transaction, tables.campaignHourly, bucket(campaign10, hour0 + 3_600_000_000))
                // A bucket of campaign 11 in an hour without events.
                try put(transaction, tables.campaignHourly, bucket(campaign11, hour0 + 7_200_000_000), TotalsLayout.record(CampaignTotals(eventCount: 1, sent: 1)))
                // A summary for a campaign without events.
                try put(transaction, tables.campaignSummaries, key { $0.append(namespace: crm); $0.append(uuid: testID(12)) }, TotalsLayout.record(CampaignTotals(eventCount: 1)))
            }
            let problems = try store.checkRecordsConsistency().problems
            #expect(problems == [
                RecordsProblem(table: "campaign_summaries", key: campaign10, message: "the summary is \(CampaignTotals(eventCount: 2, sent: 29, opened: 10, clicked: 2, converted: 1)), its events sum to \(CampaignTotals(eventCount: 2, sent: 30, opened: 10, clicked: 2, converted: 1))"),
                RecordsProblem(table: "campaign_hourly", key: campaign10, message: "no bucket for hour \(hour0 + 3_600_000_000), whose events sum to \(CampaignTotals(eventCount: 1, sent: 20, opened: 5, clicked: 1, converted: 1))"),
                RecordsProblem(table: "campaign_hourly", key: bucket(campaign11, hour0 + 7_200_000_000), message: "a bucket without events in its hour"),
                RecordsProblem(table: "campaign_summaries", key: key { $0.append(namespace: crm); $0.append(uuid: testID(12)) }, message: "a summary without events"),
            ])
        }
    }

    @Test func campaignEntriesAndOrphanEventsAreFound() async throws {
        try await populated { store in
            let campaign11 = key { $0.append(namespace: crm); $0.append(uuid: testID(11)) }
            try damage(store) { (transaction, tables) throws(EngramError) in
                // Campaign 11 vanishes with its status entry, leaving its event, summary and bucket.
                try delete(transaction, tables.campaigns, campaign11)
            }
            let problems = try store.checkRecordsConsistency().problems
            #expect(problems.count == 2)
            #expect(problems.first?.table == "campaign_statuses")
            #expect(problems.first?.message == "names campaign \(testID(11).uuidString), which does not exist")
            #expect(problems.last?.table == "campaign_events")
            #expect(problems.last?.message == "belongs to campaign \(testID(11).uuidString), which does not exist")
        }
    }

    @Test func theProblemListIsBounded() async throws {
        try await populated { store in
            try damage(store) { (transaction, tables) throws(EngramError) in
                for number in 100..<120 { try put(transaction, tables.leadScores, scoreKey(number, score: 5), []) }
            }
            let report = try store.checkRecordsConsistency(problemCountMax: 7)
            #expect(report.problems.count == 7)
            #expect(report.problemsTruncated)
            #expect(try store.checkRecordsConsistency().problems.count == 20)
        }
    }
}
