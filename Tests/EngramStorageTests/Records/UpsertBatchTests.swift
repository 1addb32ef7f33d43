@testable import EngramStorage
import FoundationEssentials
import Testing

/// Upsert batches (docs/RECORDS.md, "Upsert batches"): many leads or campaigns in one writer
/// command, each with its own outcome, stored exactly as single upserts store them.
@Suite struct UpsertBatchTests {
    func lead(_ number: Int, email: String? = nil, score: Int = 50, status: String = "new", metadata: String = "", createdAt: Int64? = nil) -> LeadUpsert {
        LeadUpsert(namespace: crm, id: testID(number), email: email ?? "lead\(number)@example.com", name: "Lead \(number)", company: "Company \(number % 7)",
                   source: number % 2 == 0 ? "web" : "ads", category: "b2b", score: score, status: status, metadata: bytes(metadata), createdAtMicroseconds: createdAt)
    }

    func batch(_ upserts: [LeadUpsert], _ store: EngramStore) -> LeadUpsertBatch {
        LeadUpsertBatch(namespace: crm, upserts: upserts, limits: store.limits)
    }

    /// The outcome's leads, failing the test for a refused one.
    func storedLeads(_ outcome: UpsertBatchOutcome<Lead>) throws -> [Lead] {
        try outcome.results.map { try $0.get() }
    }

    @Test func aBatchStoresEveryLeadAsOneWriteAndReadsFindThem() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let batchesBefore = store.statistics.batchCount
            let outcome = try await store.write(batch((1...100).map { lead($0, score: $0, metadata: "{\"n\":\($0)}") }, store))
            let leads = try storedLeads(outcome)
            #expect(leads.count == 100)
            #expect(store.statistics.batchCount == batchesBefore + 1, "one request is one writer batch")
            #expect(Set(leads.map(\.version)).count == 100, "every lead gets a version of its own")
            #expect(leads.map(\.version) == leads.map(\.version).sorted(), "versions follow the request's order")
            for stored in leads {
                #expect(stored.updatedAtMicroseconds == outcome.batchTimeMicroseconds)
                #expect(stored.createdAtMicroseconds == outcome.batchTimeMicroseconds, "new leads without a time are created at the batch time")
                #expect(try store.leadGet(namespace: crm, id: stored.id) == stored)
                #expect(try store.leadGet(namespace: crm, email: stored.email.uppercased()) == stored)
            }
            let report = try store.checkRecordsConsistency()
            #expect(report.problems == [])
            #expect(report.leadCount == 100)
        }
    }

    /// The same leads, once through single upserts and once through batches, give the same
    /// records but for the version and the times the store gives out.
    @Test func aBatchStoresWhatSingleUpsertsStore() async throws {
        // Inserts, then updates of some (a new score, status, email), a taken email and a bad
        // score: every path of the single upsert.
        let first = (1...40).map { lead($0, score: $0 * 2, status: $0 % 3 == 0 ? "qualified" : "new", metadata: $0 % 4 == 0 ? "" : "{\"a\":[\($0)]}", createdAt: $0 % 5 == 0 ? 1_000_000 + Int64($0) : nil) }
        let second = (30...50).map { lead($0, email: $0 == 35 ? "lead36@example.com" : "moved\($0)@example.com", score: $0 == 45 ? 101 : 100 - $0, status: "contacted") }
        func normalised(_ store: EngramStore) throws -> [String] {
            try (1...50).compactMap { number in
                try store.leadGet(namespace: crm, id: testID(number)).map { "\($0.id) \($0.email) \($0.name) \($0.company) \($0.source) \($0.category) \($0.score) \($0.status) \($0.metadata) created-given \($0.createdAtMicroseconds < 2_000_000)" }
            }
        }
        let single = try await withStore(limits: recordLimits()) { store, _ in
            var errors: [EngramError.Code?] = []
            for upsert in first + second {
                do {
                    _ = try await store.write(upsert)
                    errors.append(nil)
                } catch let error as EngramError {
                    errors.append(error.code)
                }
            }
            #expect(try store.checkRecordsConsistency().problems == [])
            return (try normalised(store), errors)
        }
        let batched = try await withStore(limits: recordLimits()) { store, _ in
            var errors: [EngramError.Code?] = []
            for upserts in [first, second] {
                let outcome = try await store.write(batch(upserts, store))
                errors += outcome.results.map { result in
                    if case .failure(let error) = result { return error.code }
                    return nil
                }
            }
            #expect(try store.checkRecordsConsistency().problems == [])
            return (try normalised(store), errors)
        }
        #expect(batched.0 == single.0)
        #expect(batched.1 == single.1)
        #expect(single.1.compactMap { $0 } == [.alreadyExists, .invalidArgument], "the run met a taken email and a bad score")
    }

    @Test func oneBadLeadFailsAloneAndTheRecordsStayConsistent() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            _ = try await store.write(lead(1, email: "ann@example.com"))
            let upserts = [
                lead(2),
                lead(3, email: "ANN@example.com"),         // taken by a lead stored before
                lead(4, score: 101),                       // out of range
                lead(5, metadata: "{\"a\":}"),             // not JSON
                lead(6, email: "bob@example.com"),
                lead(7, email: "Bob@Example.com"),         // taken by item 4 of this batch
                lead(8, email: "no-at-sign"),
                lead(6, email: "bob@example.com", score: 9), // the same id again: replaces item 4
                lead(9, email: String(repeating: "x", count: 250) + "@example.com"),
            ]
            let outcome = try await store.write(batch(upserts, store))
            let codes = outcome.results.map { result -> EngramError.Code? in
                if case .failure(let error) = result { return error.code }
                return nil
            }
            #expect(codes == [nil, .alreadyExists, .invalidArgument, .invalidArgument, nil, .alreadyExists, .invalidArgument, nil, .valueTooLarge])
            guard case .failure(let taken) = outcome.results[1], case .failure(let takenInBatch) = outcome.results[5] else { return }
            #expect(taken.message == "email \"ANN@example.com\" already belongs to lead \(testID(1).uuidString) in namespace crm")
            #expect(takenInBatch.message == "email \"Bob@Example.com\" already belongs to lead \(testID(6).uuidString) in namespace crm")
            let first = try outcome.results[4].get(), replaced = try outcome.results[7].get()
            #expect(replaced.version > first.version)
            #expect(replaced.createdAtMicroseconds == first.createdAtMicroseconds)
            #expect(try store.leadGet(namespace: crm, id: testID(6)) == replaced)
            for refused in [3, 4, 5, 7, 8] {
                #expect(try store.leadGet(namespace: crm, id: testID(refused)) == nil, "lead \(refused) left no trace")
            }
            let report = try store.checkRecordsConsistency()
            #expect(report.problems == [])
            #expect(report.leadCount == 3)
        }
    }

    @Test func aBatchWithEveryItemRefusedAnswersWithoutLogging() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let logBytes = store.statistics.logBytes
            let outcome = try await store.write(batch([lead(1, score: 200), lead(2, email: "")], store))
            #expect(outcome.results.allSatisfy { if case .failure = $0 { true } else { false } })
            #expect(store.statistics.logBytes == logBytes, "nothing applied, nothing logged")
        }
    }

    @Test func theBoundsRefuseTheWholeRequest() async throws {
        var limits = recordLimits()
        limits.leadUpsertBatchCountMax = 4
        try await withStore(limits: limits) { store, _ in
            let empty = await engramError { _ = try await store.write(batch([], store)) }
            #expect(empty == EngramError(.invalidArgument, "an upsert batch needs at least one of its leads"))
            let tooMany = await engramError { _ = try await store.write(batch((1...5).map { lead($0) }, store)) }
            #expect(tooMany == EngramError(.valueTooLarge, "5 leads exceed leadUpsertBatchCountMax 4"))
            #expect(try store.leadGet(namespace: crm, id: testID(1)) == nil)
            let otherLimits = await engramError { _ = try await store.write(LeadUpsertBatch(namespace: crm, upserts: [lead(1)], limits: recordLimits())) }
            #expect(otherLimits == EngramError(.invalidArgument, "the upsert batch was validated against other limits than the store's"))
            _ = try await store.write(batch((1...4).map { lead($0) }, store))
        }
        var small = recordLimits()
        // The smallest batch the other limits allow (the largest semantic fact must fit one).
        small.batchBytesMax = 2 << 20
        try await withStore(limits: small) { store, _ in
            let big = String(repeating: "a", count: 16_000)
            let upserts = (1...140).map { lead($0, metadata: "\"\(big)\"") }
            let command = batch(upserts, store)
            let error = await engramError { _ = try await store.write(command) }
            #expect(error == EngramError(.valueTooLarge, "140 leads take \(command.payloadByteCount) bytes logged, over batchBytesMax \(2 << 20)"))
            #expect(try store.leadGet(namespace: crm, id: testID(1)) == nil)
            _ = try await store.write(batch(Array(upserts.prefix(120)), store))
        }
    }

    @Test func theBoundsRelationsAreCheckedAtOpen() {
        var limits = Limits()
        limits.leadUpsertBatchCountMax = 70_000
        #expect(throws: EngramError(.limitsInvalid, "leadUpsertBatchCountMax 70000 must fit the wire's u16 count (65535)")) { try limits.validate() }
        limits = Limits()
        limits.campaignUpsertBatchCountMax = 0
        #expect(throws: EngramError(.limitsInvalid, "campaignUpsertBatchCountMax must be positive, got 0")) { try limits.validate() }
    }

    @Test func campaignsUpsertInBatchesToo() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let campaigns = [
                CampaignUpsert(namespace: crm, id: testID(1), name: "Spring", type: "email", status: .active, budgetCents: 125_000),
                CampaignUpsert(namespace: crm, id: testID(2), name: "", type: "email", status: .draft, budgetCents: 1),
                CampaignUpsert(namespace: crm, id: testID(3), name: "Summer", type: "ads", status: .paused, budgetCents: 5, createdAtMicroseconds: 42),
            ]
            let outcome = try await store.write(CampaignUpsertBatch(namespace: crm, upserts: campaigns, limits: store.limits))
            #expect(try outcome.results[0].get() == store.campaignGet(namespace: crm, id: testID(1)))
            #expect(throws: EngramError.self) { try outcome.results[1].get() }
            #expect(try outcome.results[2].get().createdAtMicroseconds == 42)
            #expect(try store.campaignGet(namespace: crm, id: testID(2)) == nil)
            #expect(try store.checkRecordsConsistency().problems == [])
        }
    }

    /// A batch survives a crash as a run of single upserts would: the log holds its lead puts, and
    /// replay rebuilds the same records and indexes.
    @Test func aBatchIsReplayedAfterACrash() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StoreConfiguration(directory: directory.path, limits: recordLimits())
        let store = try EngramStore.open(configuration)
        let outcome = try await store.write(LeadUpsertBatch(namespace: crm, upserts: (1...50).map { lead($0, email: $0 == 20 ? "lead3@example.com" : nil) }, limits: store.limits))
        store.simulateCrash()
        let reopened = try EngramStore.open(configuration)
        defer { reopened.close() }
        #expect(reopened.recovery.recordsReplayed >= 1)
        for (index, result) in outcome.results.enumerated() {
            #expect(try reopened.leadGet(namespace: crm, id: testID(index + 1)) == (try? result.get()))
        }
        #expect(try reopened.checkRecordsConsistency().problems == [])
    }

    /// An item that fails after it changed the store fails the whole writer batch: this command and
    /// every other in the batch, and nothing of them stays (docs/STORAGE.md, "The write path").
    @Test func aFailureAfterAnItemChangedTheStoreUndoesTheWholeWriterBatch() async throws {
        try await withStore(limits: recordLimits()) { store, _ in
            let gate = BlockingCommand.Gate()
            defer { gate.open() }
            let blocker = Task { try await store.write(BlockingCommand(gate: gate)) }
            try await gate.waitUntilEntered()
            let neighbour = Task { try await store.write(lead(1)) }
            try await waitUntil { store.statistics.queueDepth == 1 }
            let failing = Task {
                try await store.write(UpsertBatch(namespace: crm, upserts: [FailingUpsert(key: "a", fails: false), FailingUpsert(key: "b", fails: true)], limits: store.limits))
            }
            try await waitUntil { store.statistics.queueDepth == 2 }
            gate.open()
            _ = try await blocker.value
            let failure = await engramError { _ = try await failing.value }
            #expect(failure?.code == .io)
            #expect(failure?.message == "the batch of 2 writes was not applied: the disk said no after writing b")
            let neighbourFailure = await engramError { _ = try await neighbour.value }
            #expect(neighbourFailure?.code == .io, "the other write of the batch fails with it")
            #expect(try store.longTermGet(namespace: crm, key: bytes("a")) == nil)
            #expect(try store.leadGet(namespace: crm, id: testID(1)) == nil)
            // The store goes on.
            _ = try await store.write(lead(1))
            #expect(try store.checkRecordsConsistency().problems == [])
        }
    }

    /// A long-term put that throws after applying itself when `fails`: a store error under an item.
    struct FailingUpsert: BatchedUpsert {
        let key: String
        let fails: Bool
        var namespace: Namespace { crm }
        var loggedByteCount: Int { 64 }
        var payloadByteCount: Int { 64 }
        static func batchCountMax(_ limits: Limits) -> Int { 8 }
        static var pluralName: String { "failing puts" }
        static var countLimitName: String { "the test's bound" }

        func execute(in context: inout WriteContext) throws(EngramError) -> UInt64 {
            let version = context.nextVersion()
            try context.apply(LongTermPutOperation(namespace: crm, key: bytes(key), version: version, value: bytes("v")))
            if fails { throw EngramError(.io, "the disk said no after writing \(key)") }
            return version
        }
    }
}
