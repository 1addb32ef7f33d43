#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import EngramStorage
import Testing

/// Lead and campaign upsert batches end to end through the real `engramd` (docs/PROTOCOL.md,
/// "Upsert batches"): one outcome per item, the limits, and the store's records consistent after
/// a batch with refusals.
@Suite(.serialized) struct UpsertBatchTests {
    let crm = "crm"

    func lead(_ index: Int, email: String? = nil, score: UInt8 = 50) -> WireLead {
        WireLead(id: FactID.random(), email: email ?? "lead\(index)@example.com", name: "Lead \(index)", company: "ACME", source: "web", category: "b2b", score: score, status: "new", metadata: Array("{\"i\":\(index)}".utf8))
    }

    @Test func leadBatchesAnswerPerLeadAndLeaveTheRecordsConsistent() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        do {
            let client = EngramClient(server.clientConfiguration())
            let existing = try await client.leadUpsert(namespace: crm, lead: lead(0, email: "ann@example.com"))
            var leads = (1...20).map { lead($0) }
            leads[3].email = "ANN@example.com"                 // taken by a lead stored before
            leads[5].score = 101                               // out of range
            leads[7].email = "Lead1@Example.com"               // taken by leads[0] of this batch
            leads[9].metadata = Array("{not json".utf8)
            var versioned = leads[11]
            versioned.version = 4                              // not the upsert request form
            leads[11] = versioned
            let results = try await client.leadUpsertBatch(namespace: crm, leads: leads)
            #expect(results.count == 20)
            let refused = results.enumerated().compactMap { index, result -> (Int, EngramClientError.Code)? in
                if case .failure(let error) = result { return (index, error.code) }
                return nil
            }
            #expect(refused.map(\.0) == [3, 5, 7, 9, 11])
            #expect(refused.map(\.1) == [.alreadyExists, .serverInvalidArgument, .alreadyExists, .serverInvalidArgument, .serverInvalidArgument])
            if case .failure(let error) = results[3] {
                #expect(error.message == "email \"ANN@example.com\" already belongs to lead \(existing.id.description.uppercased()) in namespace crm")
            }
            let stored = try results.enumerated().filter { !refused.map(\.0).contains($0.offset) }.map { try $0.element.get() }
            #expect(Set(stored.map(\.updatedAtMicroseconds)).count == 1, "one batch, one time")
            for lead in stored {
                #expect(try await client.leadGet(namespace: crm, id: lead.id) == lead, "the answer is the stored record")
            }
            for index in [3, 5, 7, 9, 11] {
                #expect(try await client.leadGet(namespace: crm, id: leads[index].id) == nil)
            }

            // The bounds: 1,025 leads, or none, refuse the request.
            let tooMany = await clientError { _ = try await client.leadUpsertBatch(namespace: crm, leads: (0..<1_025).map { lead(1_000 + $0) }) }
            #expect(tooMany?.code == .valueTooLarge)
            #expect(tooMany?.message == "1025 leads exceed leadUpsertBatchCountMax 1024")
            let connection = try await EngramConnection.connect(server.clientConfiguration())
            let empty = await clientError { _ = try await connection.send(.leadUpsertBatch(namespace: crm, records: [])) }
            await connection.close()
            #expect(empty?.code == .serverInvalidArgument)
            #expect(empty?.message == "an upsert batch needs at least one of its leads")
            // 700 leads of 1.5 KiB: under the 2 MiB frame limit, over the 1 MiB bound on a batch's records.
            var heavy = (0..<700).map { lead(20_000 + $0) }
            for index in heavy.indices { heavy[index].metadata = Array("{\"pad\":\"\(String(repeating: "p", count: 1_500))\"}".utf8) }
            let heavyBytes = heavy.reduce(0) { $0 + 4 + $1.record.count }
            #expect(heavyBytes == 1_132_600, "docs/PROTOCOL.md quotes this refusal")
            let tooLarge = await clientError { _ = try await client.leadUpsertBatch(namespace: crm, leads: heavy) }
            #expect(tooLarge?.code == .valueTooLarge)
            #expect(tooLarge?.message == "700 leads take \(heavyBytes) bytes, over upsertBatchRequestBytesMax 1048576")
            #expect(try await client.leadGet(namespace: crm, id: heavy[0].id) == nil)
            let full = try await client.leadUpsertBatch(namespace: crm, leads: (0..<1_024).map { lead(10_000 + $0) })
            #expect(full.allSatisfy { if case .success = $0 { true } else { false } })
            await client.close()
        } catch {
            server.stop(signal: SIGKILL)
            throw error
        }
        expectCleanExit(server.stop())
        let store = try EngramStore.open(StoreConfiguration(directory: directory.dataDirectory))
        defer { store.close() }
        let report = try store.checkRecordsConsistency()
        #expect(report.problems == [])
        #expect(report.leadCount == 1 + 15 + 1_024)
    }

    @Test func campaignBatchesAnswerPerCampaign() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let campaigns = [
                WireCampaign(id: FactID.random(), name: "Spring", type: "email", status: .active, budgetCents: 125_000),
                WireCampaign(id: FactID.random(), name: "", type: "email", status: .draft, budgetCents: 0),
                WireCampaign(id: FactID.random(), name: "Summer", type: "ads", status: .paused, budgetCents: 9, createdAtMicroseconds: 1_000),
            ]
            let results = try await client.campaignUpsertBatch(namespace: crm, campaigns: campaigns)
            let first = try results[0].get(), third = try results[2].get()
            #expect(try await client.campaignGet(namespace: crm, id: first.id) == first)
            #expect(third.createdAtMicroseconds == 1_000)
            if case .failure(let error) = results[1] { #expect(error.code == .serverInvalidArgument) } else { Issue.record("an empty name was stored") }
            // Events for the stored campaigns, in one metric append.
            let events = [first, third].map { WireMetricEvent(campaignID: $0.id, timeMicroseconds: 3_600_000_000, sent: 10, opened: 4, clicked: 1, converted: 0) }
            #expect(try await client.metricAppend(namespace: crm, events: events).count == 2)
        }
    }

    @Test func aReadOnlyTokenMayNotUpsertInBatches() async throws {
        try await withServer(arguments: ["--token", "reader:read:crm"]) { server in
            let client = EngramClient(server.clientConfiguration(token: "reader"))
            defer { Task { await client.close() } }
            let error = await clientError { _ = try await client.leadUpsertBatch(namespace: crm, leads: [lead(1)]) }
            #expect(error?.code == .forbidden)
            #expect(error?.message == "the token has read on namespace crm; lead_upsert_batch needs write")
        }
    }
}
