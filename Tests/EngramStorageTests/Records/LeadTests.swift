@testable import EngramStorage
import FoundationEssentials
import Testing

@Suite struct LeadTests {
    let ann = testID(1)
    let bob = testID(2)

    @Test func upsertStoresAndGetFindsByIDAndFoldedEmail() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let stored = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "Ann@Example.COM", name: "Ann", company: "ACME", source: "web",
                                                          category: "b2b", score: 87, status: "new", metadata: bytes("{\"utm\":\"x\"}")))
            #expect(stored.createdAtMicroseconds == stored.updatedAtMicroseconds, "a new lead is created at its batch time")
            #expect(stored.version > 0)
            #expect(try store.leadGet(namespace: crm, id: ann) == stored)
            #expect(try store.leadGet(namespace: crm, email: "ann@example.com") == stored)
            #expect(try store.leadGet(namespace: crm, email: "ANN@EXAMPLE.COM") == stored)
            #expect(try store.leadGet(namespace: crm, email: "ann@example.org") == nil)
            #expect(try store.leadGet(namespace: billing, id: ann) == nil, "namespaces do not share leads")
            #expect(try store.leadGet(namespace: crm, id: bob) == nil)
        }
    }

    @Test func createdAtIsKeptAndUpdatedAtAndVersionAdvance() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let first = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "ann@x.io", score: 10, status: "new", createdAtMicroseconds: 1_000))
            #expect(first.createdAtMicroseconds == 1_000, "an import keeps its creation time")
            try await Task.sleep(for: .milliseconds(2))
            let second = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "ann@x.io", score: 55, status: "qualified", createdAtMicroseconds: 5_000))
            #expect(second.createdAtMicroseconds == 1_000, "an existing lead keeps its created_at whatever the request says")
            #expect(second.updatedAtMicroseconds > first.updatedAtMicroseconds)
            #expect(second.version > first.version)
            #expect(try store.leadGet(namespace: crm, id: ann) == second)
            let third = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "ann@x.io", score: 56, status: "qualified"))
            #expect(third.createdAtMicroseconds == 1_000)
        }
    }

    @Test func aTakenEmailIsRefusedNamingTheLeadThatHasIt() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            _ = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "ann@example.com", score: 1, status: "new"))
            let error = await engramError { _ = try await store.write(LeadUpsert(namespace: crm, id: bob, email: "ANN@example.com", score: 2, status: "new")) }
            #expect(error == EngramError(.alreadyExists, "email \"ANN@example.com\" already belongs to lead \(ann.uuidString) in namespace crm"))
            #expect(try store.leadGet(namespace: crm, id: bob) == nil, "nothing of the refused upsert was applied")
            // Another namespace has its own emails.
            _ = try await store.write(LeadUpsert(namespace: billing, id: bob, email: "ann@example.com", score: 2, status: "new"))
            // The same lead may keep or re-case its own email.
            let recased = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "Ann@Example.com", score: 3, status: "new"))
            #expect(try store.leadGet(namespace: crm, email: "ann@example.com") == recased)
            #expect(try store.checkRecordsConsistency().problems == [])
        }
    }

    @Test func changingOrDeletingALeadFreesItsEmail() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            _ = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "ann@a.io", score: 1, status: "new"))
            _ = try await store.write(LeadUpsert(namespace: crm, id: ann, email: "ann@b.io", score: 1, status: "new"))
            #expect(try store.leadGet(namespace: crm, email: "ann@a.io") == nil)
            let bobLead = try await store.write(LeadUpsert(namespace: crm, id: bob, email: "ann@a.io", score: 1, status: "new"))
            #expect(try store.leadGet(namespace: crm, email: "ann@a.io") == bobLead)
            #expect(try await store.write(LeadDelete(namespace: crm, id: bob)) == true)
            #expect(try await store.write(LeadDelete(namespace: crm, id: bob)) == false, "a second delete finds nothing")
            #expect(try store.leadGet(namespace: crm, email: "ann@a.io") == nil)
            #expect(try store.leadGet(namespace: crm, id: bob) == nil)
            _ = try await store.write(LeadUpsert(namespace: crm, id: testID(3), email: "ann@a.io", score: 1, status: "new"))
            let report = try store.checkRecordsConsistency()
            #expect(report.problems == [])
            #expect(report.leadCount == 2)
        }
    }

    @Test func uniquenessHoldsInsideOneBatch() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let gate = BlockingCommand.Gate()
            defer { gate.open() }
            let blocker = Task { try await store.write(BlockingCommand(gate: gate)) }
            try await gate.waitUntilEntered()
            let first = Task { try await store.write(LeadUpsert(namespace: crm, id: ann, email: "same@x.io", score: 1, status: "new")) }
            try await waitUntil { store.statistics.queueDepth == 1 }
            let second = Task { try await store.write(LeadUpsert(namespace: crm, id: bob, email: "SAME@x.io", score: 1, status: "new")) }
            try await waitUntil { store.statistics.queueDepth == 2 }
            let batchesBefore = store.statistics.batchCount
            gate.open()
            try await blocker.value
            _ = try await first.value
            let error = await engramError { _ = try await second.value }
            #expect(error?.code == .alreadyExists)
            #expect(store.statistics.batchCount == batchesBefore + 1, "both upserts were in one batch")
            #expect(try store.leadGet(namespace: crm, email: "same@x.io")?.id == ann)
        }
    }

    @Test func invalidLeadsAreRefusedBeforeQueueing() async throws {
        try await withStore(limits: recordLimits()) { (store: EngramStore, _: TemporaryDirectory) async throws in
            func refused(_ command: LeadUpsert) async -> EngramError? {
                await engramError { _ = try await store.write(command) }
            }
            func lead(email: String = "a@b.c", name: String = "", source: String = "", score: Int = 1, status: String = "new", metadata: String = "", createdAt: Int64? = nil) -> LeadUpsert {
                LeadUpsert(namespace: crm, id: ann, email: email, name: name, source: source, score: score, status: status, metadata: bytes(metadata), createdAtMicroseconds: createdAt)
            }
            #expect(await refused(lead(score: 101)) == EngramError(.invalidArgument, "score 101 is outside 0...100"))
            #expect(await refused(lead(score: -1)) == EngramError(.invalidArgument, "score -1 is outside 0...100"))
            #expect(await refused(lead(email: "")) == EngramError(.invalidArgument, "email is 0 bytes, at least 1 needed"))
            #expect(await refused(lead(email: "nobody")) == EngramError(.invalidArgument, "email needs an \"@\" with at least one byte before and after it"))
            #expect(await refused(lead(email: "a@")) == EngramError(.invalidArgument, "email needs an \"@\" with at least one byte before and after it"))
            #expect(await refused(lead(email: "a b@c.d")) == EngramError(.invalidArgument, "email has a space at byte 1"))
            #expect(await refused(lead(email: String(repeating: "a", count: 250) + "@b.cd")) == EngramError(.valueTooLarge, "email is 255 bytes, over its bound of 254"))
            #expect(await refused(lead(status: "")) == EngramError(.invalidArgument, "status is 0 bytes, at least 1 needed"))
            #expect(await refused(lead(status: "ne\tw")) == EngramError(.invalidArgument, "status has control byte 0x9 at byte 2"))
            #expect(await refused(lead(name: "A\u{0}")) == EngramError(.invalidArgument, "name has control byte 0x0 at byte 1"))
            #expect(await refused(lead(source: String(repeating: "s", count: 65))) == EngramError(.valueTooLarge, "source is 65 bytes, over its bound of 64"))
            #expect(await refused(lead(metadata: "{\"a\":}")) == EngramError(.invalidArgument, "metadata is not valid JSON at byte 5: unexpected byte 0x7d where a value was expected"))
            #expect(await refused(lead(metadata: "[" + String(repeating: "1,", count: 9_000) + "1]")) == EngramError(.valueTooLarge, "metadata of 18003 bytes exceeds leadMetadataBytesMax 16384"))
            #expect(await refused(lead(createdAt: -5)) == EngramError(.invalidArgument, "created_at -5 is outside 0...253402300799999999 microseconds since 1970"))
            #expect(try store.leadGet(namespace: crm, id: ann) == nil)
            #expect(store.statistics.writeCount == 0, "refused before reaching the writer")
        }
    }

    /// Namespaces whose names are prefixes of each other see only their own leads, in every index.
    @Test func namespacesNeverSeeEachOthersLeads() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let names = ["a", "ab", "abc", "b"].map { try! Namespace($0) }
            for (index, namespace) in names.enumerated() {
                for number in 0..<5 {
                    _ = try await store.write(LeadUpsert(namespace: namespace, id: testID(index * 10 + number), email: "same\(number)@x.io", score: 90,
                                                         status: "new", createdAtMicroseconds: 1_000))
                }
            }
            for (index, namespace) in names.enumerated() {
                let expected = (0..<5).map { testID(index * 10 + $0) }
                for order in [LeadQuery.Order.scoreThenNewest, .newest] {
                    #expect(try store.leadQuery(namespace: namespace, LeadQuery(order: order, limit: 100)).leads.map(\.id) == expected)
                    #expect(try store.leadQuery(namespace: namespace, LeadQuery(status: "new", order: order, limit: 100)).leads.map(\.id) == expected)
                }
                #expect(try store.leadGet(namespace: namespace, email: "same0@x.io")?.id == testID(index * 10))
            }
            #expect(try store.checkRecordsConsistency().leadCount == 20)
            // A status that is a prefix of another sees only its own leads.
            _ = try await store.write(LeadUpsert(namespace: names[0], id: testID(99), email: "newer@x.io", score: 95, status: "newer"))
            #expect(try store.leadQuery(namespace: names[0], LeadQuery(status: "new", limit: 100)).leads.map(\.id) == (0..<5).map { testID($0) })
            #expect(try store.leadQuery(namespace: names[0], LeadQuery(status: "newer", limit: 100)).leads.map(\.id) == [testID(99)])
            #expect(try store.leadQuery(namespace: names[0], LeadQuery(status: "ne", limit: 100)).leads == [])
        }
    }

    @Test func theUpsertRequestFormDecodes() throws {
        let lead = Lead(id: ann, email: "a@b.c", name: "A", score: 9, status: "new", metadata: bytes("[]"), createdAtMicroseconds: -1, updatedAtMicroseconds: 0, version: 0)
        let request = try LeadUpsert(namespace: crm, request: lead.record)
        #expect(request.createdAtMicroseconds == nil, "created_at -1 asks for the batch time")
        #expect(request.email == "a@b.c" && request.name == "A" && request.score == 9 && request.metadata == bytes("[]"))
        var imported = lead
        imported.createdAtMicroseconds = 77
        #expect(try LeadUpsert(namespace: crm, request: imported.record).createdAtMicroseconds == 77)
        var versioned = lead
        versioned.version = 3
        #expect(throws: EngramError(.invalidArgument, "a lead upsert request must carry version 0 and updated_at 0 (the store assigns them)")) {
            _ = try LeadUpsert(namespace: crm, request: versioned.record)
        }
        #expect(throws: EngramError(.invalidArgument, "the lead format needs 1 bytes, 0 remain (at byte 0)")) {
            _ = try LeadUpsert(namespace: crm, request: [])
        }
    }
}
