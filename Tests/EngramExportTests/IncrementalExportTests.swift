import EngramExport
import EngramStorage
import FoundationEssentials
import Testing

/// Changes of every kind, then an incremental export compared with a fresh full export of the
/// same data into another schema: the tables must be identical row for row.
@Suite(.serialized)
struct IncrementalExportTests {
    func configuration(_ engram: EngramFixture, _ postgres: PostgresCluster, schema: String, mode: ExportMode, force: Bool = false) -> ExportConfiguration {
        ExportConfiguration(engram: engram.clientConfiguration, namespace: engram.namespace.name, postgres: postgres.settings, schema: schema, mode: mode, force: force)
    }

    @Test func incrementalExportEqualsAFreshFullExport() async throws {
        let postgres = try PostgresCluster.start()
        defer { postgres.stop() }
        let engram = try await EngramFixture.start()
        let store = engram.store
        let namespace = engram.namespace
        var data = DataSet(namespace: namespace, now: ExportClockForTests.wallMicroseconds(), seed: 7)
        try await data.write(to: store, leadCount: 5_000, campaignCount: 20, eventsPerCampaign: 10, memoryCount: 100, episodeCount: 1_000)
        let first = try await Exporter.run(configuration(engram, postgres, schema: "engram", mode: .auto))
        #expect(first.outcome == .full)

        try await change(store, namespace, &data)

        let incremental = try await Exporter.run(configuration(engram, postgres, schema: "engram", mode: .incremental))
        #expect(incremental.outcome == .incremental)
        // 200 updated + 300 new + 1 re-created leads, 3 + 2 campaigns, 2 x 10 + 5 x 3 events,
        // 20 + 20 memories of each kind, 500 episodes.
        #expect(incremental.rowsWritten == 501 + 5 + 20 + 15 + 40 + 500)
        // Rows whose key is gone: 150 leads, 1 campaign, its 10 events, 3 trimmed events, 10
        // long-term values, 10 facts. (The re-created lead's old row is replaced, not counted.)
        #expect(incremental.rowsDeleted == 150 + 1 + 10 + 3 + 10 + 10)
        let fresh = try await Exporter.run(configuration(engram, postgres, schema: "engram_fresh", mode: .full))
        #expect(fresh.outcome == .full)
        #expect(fresh.lsn == incremental.lsn)

        let connection = try await Answers.connect(postgres.settings)
        let incrementalContents = try await Answers.tableContents(connection, schema: "engram")
        let freshContents = try await Answers.tableContents(connection, schema: "engram_fresh")
        for (table, rows) in freshContents {
            #expect(incrementalContents[table]?.count == rows.count, "rows of \(table)")
            #expect(incrementalContents[table] == rows, "contents of \(table)")
        }
        #expect(try await Answers.integer(connection, "SELECT count(*) FROM engram.leads_2019_03") == 10)
        let engramHot = try await Answers.hotLeads(store, namespace: namespace, now: data.now, normaliser: connection)
        #expect(try await Answers.hotLeads(connection, schema: "engram") == engramHot)
        #expect(try await Answers.summary(connection, schema: "engram") == (try Answers.summary(store, namespace: namespace, campaigns: data.campaignIDs)))
        let runs = try await Answers.integer(connection, "SELECT count(*) FROM engram.export_runs WHERE kind = 'incremental' AND since_version IS NOT NULL")
        #expect(runs == 1)

        // Nothing changed since: the next run writes nothing.
        let again = try await Exporter.run(configuration(engram, postgres, schema: "engram", mode: .incremental))
        #expect(again.outcome == .upToDate)
        #expect(try await Answers.tableContents(connection, schema: "engram") == incrementalContents)
        // Forced, a full export of the same snapshot swaps in identical tables and keeps the runs.
        let forced = try await Exporter.run(configuration(engram, postgres, schema: "engram", mode: .full, force: true))
        #expect(forced.outcome == .full)
        #expect(forced.lsn == incremental.lsn)
        #expect(try await Answers.tableContents(connection, schema: "engram") == incrementalContents)
        #expect(try await Answers.integer(connection, "SELECT count(*) FROM engram.export_runs") == 3)
        try await connection.close()
        await engram.stop()
    }

    /// Updates, inserts (one in a month the export has no partition for), deletes, a lead
    /// re-created with another created_at, campaign changes and a campaign delete, metric appends
    /// and trims, memory puts and deletes, episodes.
    func change(_ store: EngramStore, _ namespace: Namespace, _ data: inout DataSet) async throws {
        let ids = data.leadIDs
        var updates: [LeadUpsert] = []
        for index in 0..<200 {
            let lead = try #require(try store.leadGet(namespace: namespace, id: ids[index]))
            updates.append(LeadUpsert(namespace: namespace, id: lead.id, email: lead.email, name: "Updated \(index)", company: lead.company, source: lead.source,
                                      category: lead.category, score: (lead.score + 37) % 101, status: "qualified", metadata: Array("{\"v\": 2}".utf8)))
        }
        try await DataSet.writeAll(updates, to: store)
        var inserts: [LeadUpsert] = []
        for index in 0..<300 {
            let march2019: Int64 = 1_552_000_000_000_000  // 2019-03-07
            inserts.append(data.lead(createdAt: index < 10 ? march2019 + Int64(index) * DataSet.hour : nil))
        }
        try await DataSet.writeAll(inserts, to: store)
        data.leadIDs += inserts.map(\.id)
        for index in 200..<350 { #expect(try await store.write(LeadDelete(namespace: namespace, id: ids[index]))) }
        // Deleted and created again under the same id, two years earlier: another partition.
        let moved = try #require(try store.leadGet(namespace: namespace, id: ids[400]))
        #expect(try await store.write(LeadDelete(namespace: namespace, id: moved.id)))
        _ = try await store.write(LeadUpsert(namespace: namespace, id: moved.id, email: moved.email, score: 99, status: "new", createdAtMicroseconds: moved.createdAtMicroseconds - 400 * DataSet.day))

        let campaigns = data.campaignIDs
        for index in 0..<3 {
            let campaign = try #require(try store.campaignGet(namespace: namespace, id: campaigns[index]))
            _ = try await store.write(CampaignUpsert(namespace: namespace, id: campaign.id, name: campaign.name + " v2", type: campaign.type, status: .paused, budgetCents: campaign.budgetCents + 1))
        }
        #expect(try await store.write(CampaignDelete(namespace: namespace, id: campaigns[5])))
        for _ in 0..<2 {
            let id = data.random.uuid()
            _ = try await store.write(CampaignUpsert(namespace: namespace, id: id, name: "New campaign", type: "email", status: .active, budgetCents: 500))
            data.campaignIDs.append(id)
            let events = (0..<10).map { CampaignMetricEvent(campaignID: id, timeMicroseconds: data.now - Int64($0) * DataSet.hour, sent: 100, opened: 50, clicked: 7, converted: 1) }
            _ = try await store.write(CampaignMetricAppend(namespace: namespace, events: events))
        }
        for index in 10..<15 {
            let events = (0..<3).map { CampaignMetricEvent(campaignID: campaigns[index], timeMicroseconds: data.now + Int64($0), sent: 10, opened: 5, clicked: 1, converted: 0) }
            _ = try await store.write(CampaignMetricAppend(namespace: namespace, events: events))
        }
        #expect(try await store.write(CampaignMetricsDelete(namespace: namespace, campaignID: campaigns[1], countMax: 3)) == 3)

        for index in 0..<10 { _ = try await store.write(LongTermPut(namespace: namespace, key: data.longTermKeys[index], value: Array("new value \(index)".utf8))) }
        for index in 10..<20 { #expect(try await store.write(LongTermDelete(namespace: namespace, key: data.longTermKeys[index]))) }
        for index in 0..<10 { _ = try await store.write(LongTermPut(namespace: namespace, key: Array("added:\(index)".utf8), value: [0, 1, 2, UInt8(index)])) }
        for index in 0..<10 {
            _ = try await store.write(SemanticPut(namespace: namespace, fact: SemanticFact(id: data.factIDs[index], tags: ["changed"], body: Array("changed \(index)".utf8), vector: [1, 2])))
        }
        for index in 10..<20 { #expect(try await store.write(SemanticDelete(namespace: namespace, id: data.factIDs[index]))) }
        for index in 0..<10 { _ = try await store.write(SemanticPut(namespace: namespace, fact: SemanticFact(id: data.random.uuid(), tags: ["added \(index)"], body: [9]))) }
        try await data.writeEpisodes(to: store, count: 500)
    }
}
