#if canImport(Glibc)
import Glibc
#endif
import EngramExport
import EngramStorage
import FoundationEssentials
import Testing

/// The export against a real PostgreSQL and an in-process engramd (docs/EXPORT.md): 100,000
/// leads, 100 campaigns with metric events and memories of every tier; the old system's queries
/// answered by PostgreSQL and by Engram; re-runs; a killed export; the `--sql` file.
@Suite(.serialized)
struct ExportEndToEndTests {
    static let leadCount = 100_000

    func configuration(_ engram: EngramFixture, _ postgres: PostgresCluster, schema: String = "engram", mode: ExportMode = .auto, sqlFile: String? = nil, force: Bool = false) -> ExportConfiguration {
        ExportConfiguration(engram: engram.clientConfiguration, namespace: engram.namespace.name, postgres: postgres.settings, schema: schema, mode: mode, sqlFile: sqlFile, force: force)
    }

    @Test func fullExportAnswersTheOldQueriesAsEngramDoes() async throws {
        let postgres = try PostgresCluster.start()
        defer { postgres.stop() }
        let engram = try await EngramFixture.start()
        var data = DataSet(namespace: engram.namespace, now: ExportClockForTests.wallMicroseconds())
        try await data.write(to: engram.store, leadCount: Self.leadCount)

        let summary = try await Exporter.run(configuration(engram, postgres))
        #expect(summary.outcome == .full)
        #expect(summary.rowsWritten == Int64(Self.leadCount + 100 + 90 * 20 + 300 + 300 + 3_000))
        let connection = try await Answers.connect(postgres.settings)
        let pgHot = try await Answers.hotLeads(connection, schema: "engram")
        let engramHot = try await Answers.hotLeads(engram.store, namespace: engram.namespace, now: data.now, normaliser: connection)
        #expect(pgHot.count > 100)
        #expect(pgHot == engramHot)
        let pgSummary = try await Answers.summary(connection, schema: "engram")
        #expect(pgSummary.count == 100)
        #expect(pgSummary == (try Answers.summary(engram.store, namespace: engram.namespace, campaigns: data.campaignIDs)))
        // A partition per month present: the data spans 90 days, so 4 or 5 months.
        let partitions = try await Answers.integer(connection, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'engram.leads'::regclass")
        let months = try await Answers.integer(connection, "SELECT count(DISTINCT date_trunc('month', created_at)) FROM engram.leads")
        #expect(partitions == months)
        #expect(try leadMonths(engram).count == Int(months))
        #expect(try await Answers.integer(connection, "SELECT count(*) FROM engram.export_runs") == 1)

        // The same snapshot again: nothing to do, nothing changed.
        let before = try await Answers.tableContents(connection, schema: "engram")
        let again = try await Exporter.run(configuration(engram, postgres))
        #expect(again.outcome == .upToDate)
        #expect(try await Answers.tableContents(connection, schema: "engram") == before)
        #expect(try await Answers.integer(connection, "SELECT count(*) FROM engram.export_runs") == 1)

        // The --sql file loads into an empty database and answers the same.
        let sqlPath = engram.directory + ".sql"
        defer { unlink(sqlPath) }
        let fileSummary = try await Exporter.run(configuration(engram, postgres, sqlFile: sqlPath))
        #expect(fileSummary.outcome == .full)
        try postgres.psql(["-c", "CREATE DATABASE fresh"])
        try postgres.psql(["-f", sqlPath], database: "fresh")
        let fresh = try await Answers.connect(postgres.settings, database: "fresh")
        #expect(try await Answers.hotLeads(fresh, schema: "engram") == engramHot)
        #expect(try await Answers.summary(fresh, schema: "engram") == pgSummary)
        #expect(try await Answers.tableContents(fresh, schema: "engram") == before)
        try await fresh.close()
        try await connection.close()
        await engram.stop()
    }

    /// The months of the leads, from the store itself.
    func leadMonths(_ engram: EngramFixture) throws -> [Int64] {
        let snapshot = try engram.store.openSnapshot()
        defer { snapshot.close() }
        var cursor = SnapshotMonthCursor()
        var months: Set<Int64> = []
        while !cursor.isFinished {
            try snapshot.leadMonths(namespace: engram.namespace, cursor: &cursor, seekCountMax: 1_000) { months.insert($0) }
        }
        return Array(months)
    }
}

enum ExportClockForTests {
    static func wallMicroseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
    }
}
