#if canImport(Glibc)
import Glibc
#endif
import EngramExport
import EngramStorage
import FoundationEssentials
import Testing

/// A killed export and the errors an operator meets: each leaves the previous export as it was
/// and ends with a clear message and its exit code.
@Suite(.serialized)
struct ExportFailureTests {
    /// The built products sit beside the test bundle.
    static let productsDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/")
    }()

    /// Starts `engram-export` with `arguments`; its output goes to `log`.
    static func spawnExport(_ arguments: [String], log: String) throws -> pid_t {
        let program = productsDirectory + "/engram-export"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard rc == 0 else { throw TestFailure("cannot start \(program): \(rc)") }
        return pid
    }

    /// Waits for `pid`; returns its exit status, or 128 + the signal that ended it.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    @Test func killedExportLeavesThePreviousSnapshotCompleteAndQueryable() async throws {
        let postgres = try PostgresCluster.start()
        defer { postgres.stop() }
        let engram = try await EngramFixture.start()
        var data = DataSet(namespace: engram.namespace, now: ExportClockForTests.wallMicroseconds(), seed: 11)
        try await data.write(to: engram.store, leadCount: 30_000, campaignCount: 20)
        let configuration = ExportConfiguration(engram: engram.clientConfiguration, namespace: engram.namespace.name, postgres: postgres.settings)
        _ = try await Exporter.run(configuration)
        let connection = try await Answers.connect(postgres.settings)
        let before = try await Answers.tableContents(connection, schema: "engram")
        let hotBefore = try await Answers.hotLeads(connection, schema: "engram")

        // Change every tenth lead's score, so an export that finished would change the tables.
        let updates = try stride(from: 0, to: data.leadIDs.count, by: 10).map { data.leadIDs[$0] }.map { id in
            let lead = try #require(try engram.store.leadGet(namespace: engram.namespace, id: id))
            return LeadUpsert(namespace: engram.namespace, id: id, email: lead.email, score: 100 - lead.score, status: lead.status, createdAtMicroseconds: lead.createdAtMicroseconds)
        }
        try await DataSet.writeAll(updates, to: engram.store)

        // A reader holds the old tables, so the export's swap (DROP SCHEMA engram) waits for it:
        // the export is then stopped at the most delicate point, every COPY done inside its
        // transaction and the swap begun, however fast this machine loads the rows.
        let reader = try await Answers.connect(postgres.settings)
        try await Answers.execute(reader, "BEGIN")
        try await Answers.execute(reader, "LOCK TABLE engram.export_runs IN ACCESS SHARE MODE")
        let log = engram.directory + ".export.log"
        defer { unlink(log) }
        let pid = try Self.spawnExport(["--port", "\(engram.port)", "--namespace", engram.namespace.name, "--postgres", postgres.url, "--mode", "full", "--no-progress"], log: log)
        var sawSwapWaiting = false
        for _ in 0..<2_500 {
            if try await Answers.integer(connection, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DROP SCHEMA IF EXISTS engram CASCADE%' AND wait_event_type = 'Lock'") > 0 {
                sawSwapWaiting = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(pid, SIGKILL)
        #expect(Self.wait(pid) == 128 + SIGKILL)
        #expect(sawSwapWaiting, "the export never reached its swap: \((try? readFile(log)) ?? "")")
        try await Answers.execute(reader, "ROLLBACK")
        try await reader.close()
        // PostgreSQL rolls the transaction back when it sees the connection gone.
        for _ in 0..<500 where try await Answers.integer(connection, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()") > 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await Answers.tableContents(connection, schema: "engram") == before)
        #expect(try await Answers.hotLeads(connection, schema: "engram") == hotBefore)
        #expect(try await Answers.integer(connection, "SELECT count(*) FROM engram.export_runs") == 1)
        #expect(try await Answers.integer(connection, "SELECT count(*) FROM pg_namespace WHERE nspname = 'engram_staging'") == 0)
        // engramd let go of the killed export's snapshot when its connection closed.
        for _ in 0..<500 where engram.store.openSnapshotCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(engram.store.openSnapshotCount == 0)

        // The next export completes, and carries the changes.
        let next = try await Exporter.run(configuration)
        #expect(next.outcome == .incremental)
        #expect(next.rowsWritten == Int64(updates.count))
        let engramHot = try await Answers.hotLeads(engram.store, namespace: engram.namespace, now: data.now, normaliser: connection)
        #expect(try await Answers.hotLeads(connection, schema: "engram") == engramHot)
        try await connection.close()
        await engram.stop()
    }

    @Test func errorsNameTheProblemAndExitWithItsCode() async throws {
        let postgres = try PostgresCluster.start()
        defer { postgres.stop() }
        let engram = try await EngramFixture.start()
        var data = DataSet(namespace: engram.namespace, now: ExportClockForTests.wallMicroseconds(), seed: 3)
        try await data.write(to: engram.store, leadCount: 100, campaignCount: 3, memoryCount: 5, episodeCount: 10)
        let good = ExportConfiguration(engram: engram.clientConfiguration, namespace: engram.namespace.name, postgres: postgres.settings)

        func failure(_ configuration: ExportConfiguration) async -> ExportError? {
            do {
                _ = try await Exporter.run(configuration)
                return nil
            } catch {
                return error
            }
        }

        var noEngram = good
        noEngram.engram.port = try PostgresCluster.freePort()
        let engramError = await failure(noEngram)
        #expect(engramError?.code == .engramUnreachable)
        #expect(engramError?.message.hasPrefix("cannot reach engramd at 127.0.0.1:\(noEngram.engram.port)") == true, "\(String(describing: engramError))")
        var noPostgres = good
        noPostgres.postgres.port = try PostgresCluster.freePort()
        let postgresError = await failure(noPostgres)
        #expect(postgresError?.code == .postgresUnreachable)
        #expect(postgresError?.message.hasPrefix("cannot reach PostgreSQL at 127.0.0.1:\(noPostgres.postgres.port)") == true, "\(String(describing: postgresError))")
        var unknownRole = good
        unknownRole.postgres.user = "nobody"
        let roleError = await failure(unknownRole)
        #expect(roleError?.code == .postgresAuthentication)
        #expect(roleError?.message.contains("role \"nobody\" does not exist") == true, "\(String(describing: roleError))")
        var wrongPassword = good
        wrongPassword.postgres.user = "exporter"
        wrongPassword.postgres.password = "wrong"
        let passwordError = await failure(wrongPassword)
        #expect(passwordError?.code == .postgresAuthentication)
        #expect(passwordError?.message.contains("password authentication failed for user \"exporter\"") == true, "\(String(describing: passwordError))")
        var rightPassword = wrongPassword
        rightPassword.postgres.password = PostgresCluster.exporterPassword
        rightPassword.schema = "with_password"
        #expect(try await Exporter.run(rightPassword).outcome == .full)
        var unknownDatabase = good
        unknownDatabase.postgres.database = "missing"
        let databaseError = await failure(unknownDatabase)
        #expect(databaseError?.code == .postgresAuthentication)
        #expect(databaseError?.message.contains("database \"missing\" does not exist") == true, "\(String(describing: databaseError))")
        var badSchema = good
        badSchema.schema = "Bad-Name"
        #expect(await failure(badSchema)?.code == .usage)
        var incremental = good
        incremental.mode = .incremental
        #expect(await failure(incremental)?.code == .noPreviousExport)

        // A schema that is not the export's is refused and left alone.
        try postgres.psql(["-c", "CREATE SCHEMA engram; CREATE TABLE engram.mine (x int); INSERT INTO engram.mine VALUES (1)"])
        let conflict = await failure(good)
        #expect(conflict?.code == .schemaConflict)
        #expect(conflict?.message.contains("schema engram exists and was not made by engram-export") == true, "\(String(describing: conflict))")
        #expect(try postgres.psql(["-At", "-c", "SELECT count(*) FROM engram.mine"]).hasPrefix("1"))
        var elsewhere = good
        elsewhere.schema = "analytics"
        #expect(try await Exporter.run(elsewhere).outcome == .full)

        // The executable reports the same with its exit codes.
        let log = engram.directory + ".errors.log"
        defer { unlink(log) }
        let unreachable = try Self.spawnExport(["--port", "\(noEngram.engram.port)", "--postgres", postgres.url, "--no-progress"], log: log)
        #expect(Self.wait(unreachable) == 3)
        #expect(try readFile(log).contains("cannot reach engramd"))
        let conflicting = try Self.spawnExport(["--port", "\(engram.port)", "--namespace", engram.namespace.name, "--postgres", postgres.url, "--no-progress"], log: log)
        #expect(Self.wait(conflicting) == 7)
        #expect(try readFile(log).contains("schema engram exists and was not made by engram-export"))
        let noDatabase = try Self.spawnExport(["--port", "\(engram.port)", "--namespace", engram.namespace.name, "--postgres", "postgres://postgres@127.0.0.1:\(postgres.port)/missing", "--no-progress"], log: log)
        #expect(Self.wait(noDatabase) == 6)
        #expect(try readFile(log).contains("database \"missing\" does not exist"))
        let badPassword = try Self.spawnExport(["--port", "\(engram.port)", "--namespace", engram.namespace.name, "--postgres", "postgres://exporter:wrong@127.0.0.1:\(postgres.port)/postgres", "--no-progress"], log: log)
        #expect(Self.wait(badPassword) == 6)
        #expect(try readFile(log).contains("password authentication failed for user \"exporter\""))
        let ok = try Self.spawnExport(["--port", "\(engram.port)", "--namespace", engram.namespace.name, "--postgres", postgres.url, "--schema", "analytics", "--no-progress"], log: log)
        #expect(Self.wait(ok) == 0)
        #expect(try readFile(log).hasPrefix("engram-export: up to date"))
        await engram.stop()
    }
}
