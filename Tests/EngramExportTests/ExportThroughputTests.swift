#if canImport(Glibc)
import Glibc
#endif
import EngramExport
import EngramStorage
import Testing

/// Export speed for docs/PERFORMANCE.md, off unless `ENGRAM_EXPORT_BENCH_LEADS` names a lead
/// count (run it in a release build; docs/EXPORT.md, "Speed"). The generated data set is the end
/// to end test's with that many leads; the export runs into a throwaway PostgreSQL and into a
/// `--sql` file, and each prints its rows and rows a second.
@Suite(.serialized)
struct ExportThroughputTests {
    static let leadCount: Int? = getenv("ENGRAM_EXPORT_BENCH_LEADS").flatMap { Int(String(cString: $0)) }

    @Test(.enabled(if: leadCount != nil, "set ENGRAM_EXPORT_BENCH_LEADS to measure"))
    func fullExportRowsPerSecond() async throws {
        let leadCount = try #require(Self.leadCount)
        let postgres = try PostgresCluster.start()
        defer { postgres.stop() }
        let engram = try await EngramFixture.start()
        var data = DataSet(namespace: engram.namespace, now: ExportClockForTests.wallMicroseconds())
        let generated = ExportClockForTests.wallMicroseconds()
        try await data.write(to: engram.store, leadCount: leadCount)
        let expectedRows = Int64(leadCount + 100 + 90 * 20 + 300 + 300 + 3_000)
        print("export bench: generated \(expectedRows) rows in \(Double(ExportClockForTests.wallMicroseconds() - generated) / 1e6) s")

        let configuration = ExportConfiguration(engram: engram.clientConfiguration, namespace: engram.namespace.name, postgres: postgres.settings, mode: .full)
        let live = try await Exporter.run(configuration)
        #expect(live.rowsWritten == expectedRows)
        print("export bench: into PostgreSQL: \(live.line)")

        // The peer, in the same cluster and run: psql's \copy of the exported lead rows from CSV
        // into a table of the same columns (no partitions, no indexes, as a plain \copy runs).
        let csvPath = engram.directory + ".leads.csv"
        defer { unlink(csvPath) }
        try postgres.psql(["-c", "\\copy (SELECT * FROM engram.leads) TO '\(csvPath)' CSV"])
        try postgres.psql(["-c", "CREATE TABLE public.copy_peer (LIKE engram.leads)"])
        let copyStarted = ExportClockForTests.wallMicroseconds()
        try postgres.psql(["-c", "\\copy public.copy_peer FROM '\(csvPath)' CSV"])
        let copySeconds = Double(ExportClockForTests.wallMicroseconds() - copyStarted) / 1e6
        #expect(try postgres.psql(["-Atc", "SELECT count(*) FROM public.copy_peer"]) == "\(leadCount)\n")
        print("export bench: psql \\copy of \(leadCount) lead rows from CSV in \(copySeconds) s (\(Int(Double(leadCount) / copySeconds)) rows/s)")

        let sqlPath = engram.directory + ".sql"
        defer { unlink(sqlPath) }
        var toFile = configuration
        toFile.sqlFile = sqlPath
        let file = try await Exporter.run(toFile)
        #expect(file.rowsWritten == expectedRows)
        print("export bench: into a --sql file: \(file.line)")
        await engram.stop()
    }
}
