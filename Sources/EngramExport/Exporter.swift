import EngramClient
import EngramProtocol
import EngramStorage
import Logging
import NIOCore

/// Which export to run.
public enum ExportMode: String, Sendable, CaseIterable {
    /// Incremental when the target holds an export of the same namespace and server that the
    /// snapshot can continue; full otherwise.
    case auto
    case full
    case incremental
}

/// Everything one export needs to know.
public struct ExportConfiguration: Sendable {
    public var engram: EngramClientConfiguration
    public var namespace: String
    public var postgres: PostgresSettings
    /// The PostgreSQL schema that holds the tables (its staging twin is `<schema>_staging`).
    public var schema: String
    public var mode: ExportMode
    /// Write a `.sql` file for `psql -f` instead of loading a live PostgreSQL (full exports only).
    public var sqlFile: String?
    /// Export even when the target already holds this very snapshot.
    public var force: Bool
    /// Chunk reads kept in flight per stream.
    public var prefetchCount: Int
    /// COPY data is sent to PostgreSQL in pieces of about this many bytes.
    public var copyBufferBytes: Int

    public init(engram: EngramClientConfiguration, namespace: String, postgres: PostgresSettings, schema: String = "engram", mode: ExportMode = .auto, sqlFile: String? = nil, force: Bool = false, prefetchCount: Int = 4, copyBufferBytes: Int = 512 << 10) {
        self.engram = engram
        self.namespace = namespace
        self.postgres = postgres
        self.schema = schema
        self.mode = mode
        self.sqlFile = sqlFile
        self.force = force
        self.prefetchCount = prefetchCount
        self.copyBufferBytes = copyBufferBytes
    }
}

/// What an export did.
public struct ExportSummary: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case full
        case incremental
        /// The target already held this snapshot; nothing was written.
        case upToDate = "up to date"
    }

    public var outcome: Outcome
    public var lsn: UInt64
    public var version: UInt64
    public var episodicPosition: UInt64
    public var rowsWritten: Int64
    public var rowsDeleted: Int64
    public var seconds: Double

    /// The one line printed at the end.
    public var line: String {
        let rate = seconds > 0 ? Int64(Double(rowsWritten) / seconds) : 0
        switch outcome {
        case .upToDate:
            return "engram-export: up to date at lsn \(lsn); nothing written (\(String(format: seconds)) s)"
        case .full, .incremental:
            return "engram-export: \(outcome.rawValue) export at lsn \(lsn): \(ExportProgress.grouped(rowsWritten)) rows written, \(ExportProgress.grouped(rowsDeleted)) deleted in \(String(format: seconds)) s (\(ExportProgress.grouped(rate)) rows/s)"
        }
    }
}

extension String {
    /// Seconds with one decimal, without Foundation's formatters.
    init(format seconds: Double) {
        let tenths = Int64((seconds * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}

/// Runs exports (docs/EXPORT.md).
public enum Exporter {
    public static func run(_ configuration: ExportConfiguration, progress: ExportProgress = ExportProgress(enabled: false), logger: Logger = Logger(label: "engram-export")) async throws(ExportError) -> ExportSummary {
        try ExportStatements.check(schema: configuration.schema)
        let started = ExportClock.nanoseconds()
        let connection = try await connectEngram(configuration.engram)
        defer { Task { await connection.close() } }
        let context = ExportContext(configuration: configuration, connection: connection, progress: progress, startedAtMicroseconds: ExportClock.wallMicroseconds())
        var summary: ExportSummary
        if let path = configuration.sqlFile {
            guard configuration.mode != .incremental else { throw ExportError(.usage, "--sql writes full exports only: a file cannot know what its reader already holds") }
            let sink = try SQLFileSink(path: path)
            summary = try await context.full(into: sink, previous: nil)
            do { try sink.finish() } catch { throw error as? ExportError ?? ExportError(.io, "\(error)") }
        } else {
            let sink = try await PostgresSink.connect(configuration.postgres, logger: logger)
            do {
                summary = try await context.live(sink)
            } catch {
                await sink.close()
                throw error
            }
            await sink.close()
        }
        progress.finish()
        summary.seconds = Double(ExportClock.nanoseconds() - started) / 1e9
        return summary
    }

    static func connectEngram(_ configuration: EngramClientConfiguration) async throws(ExportError) -> EngramConnection {
        do {
            return try await EngramConnection.connect(configuration)
        } catch {
            let place = "engramd at \(configuration.host):\(configuration.port)"
            if error.code == .unauthenticated { throw ExportError(.engramUnreachable, "\(place) refused the token: \(error.message)") }
            throw ExportError(.engramUnreachable, "cannot reach \(place): \(error.message)")
        }
    }
}

/// The last row of `export_runs`, read before an export decides what to do.
struct PreviousRun: Equatable {
    var namespace: String
    var server: String
    var lsn: UInt64
    var version: UInt64
    var episodicPosition: UInt64
}

/// One export's state: the Engram connection, the snapshot once open, the progress line.
struct ExportContext {
    let configuration: ExportConfiguration
    let connection: EngramConnection
    let progress: ExportProgress
    let startedAtMicroseconds: Int64
    var statements: ExportStatements { ExportStatements(schema: configuration.schema) }

    /// Decides between full, incremental and nothing, against what the target holds.
    func live(_ sink: PostgresSink) async throws(ExportError) -> ExportSummary {
        let previous = try await previousRun(sink)
        let snapshot = try await openSnapshot()
        defer { Task { _ = try? await snapshot.close() } }
        let position = snapshot.info
        let server = connection.hello.serverName
        let continuable = previous.map { $0.namespace == configuration.namespace && $0.server == server && $0.lsn <= position.lsn && $0.version <= position.version && $0.episodicPosition <= position.episodicPosition } ?? false
        if let previous, continuable, !configuration.force, previous.lsn == position.lsn, previous.version == position.version, previous.episodicPosition == position.episodicPosition {
            return ExportSummary(outcome: .upToDate, lsn: position.lsn, version: position.version, episodicPosition: position.episodicPosition, rowsWritten: 0, rowsDeleted: 0, seconds: 0)
        }
        switch configuration.mode {
        case .full:
            return try await full(into: sink, snapshot: snapshot)
        case .incremental:
            guard let previous else { throw ExportError(.noPreviousExport, "schema \(configuration.schema) holds no export to continue; run a full export first") }
            guard continuable else {
                throw ExportError(.noPreviousExport, "the last export into \(configuration.schema) (namespace \(previous.namespace), server \(previous.server), lsn \(previous.lsn)) cannot be continued from namespace \(configuration.namespace) on server \(server) at lsn \(position.lsn); run a full export")
            }
            return try await incremental(into: sink, snapshot: snapshot, since: previous)
        case .auto:
            if let previous, continuable { return try await incremental(into: sink, snapshot: snapshot, since: previous) }
            return try await full(into: sink, snapshot: snapshot)
        }
    }

    /// The target's last run, if it is the export's schema; a conflicting schema is refused here
    /// with the same words the statements' own check would use.
    func previousRun(_ sink: PostgresSink) async throws(ExportError) -> PreviousRun? {
        let schema = configuration.schema
        do {
            let markers = try await sink.queryTexts("SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspname = '\(schema)'")
            guard let marker = markers.first else { return nil }
            guard marker == ExportSchema.marker else {
                throw ExportError(.schemaConflict, "schema \(schema) exists and was not made by engram-export layout \(ExportSchema.layoutVersion) (its comment is \"\(marker ?? "")\"); export into another schema or drop it")
            }
            let rows = try await sink.connection.query("SELECT namespace, server, snapshot_lsn, snapshot_version, episodic_position FROM \(unescaped: schema).export_runs ORDER BY run_id DESC LIMIT 1", logger: sink.logger)
            for try await (namespace, server, lsn, version, position) in rows.decode((String, String, Int64, Int64, Int64).self) {
                return PreviousRun(namespace: namespace, server: server, lsn: UInt64(lsn), version: UInt64(version), episodicPosition: UInt64(position))
            }
            return nil
        } catch {
            throw PostgresErrors.statement(error, "reading the last export of schema \(schema)")
        }
    }

    func openSnapshot() async throws(ExportError) -> RemoteSnapshot {
        do {
            return try await connection.openSnapshot(namespace: configuration.namespace)
        } catch {
            throw ExportError(.engram, "engramd refused a snapshot of namespace \(configuration.namespace): \(error)")
        }
    }

    /// A full export into `sink`, opening the snapshot when none is given (the `--sql` path).
    func full(into sink: any ExportSink, previous: PreviousRun?) async throws(ExportError) -> ExportSummary {
        let snapshot = try await openSnapshot()
        defer { Task { _ = try? await snapshot.close() } }
        return try await full(into: sink, snapshot: snapshot)
    }

    func full(into sink: any ExportSink, snapshot: RemoteSnapshot) async throws(ExportError) -> ExportSummary {
        let info = snapshot.info
        progress.phase("counting")
        let counts = try await rowCounts(snapshot)
        progress.expect(counts.values.reduce(0, +) + Int64(info.episodicPosition))
        progress.phase("partitions")
        let months = try await leadMonths(snapshot)
        try await execute(statements.fullPrologue(leadMonths: Array(months)), on: sink)
        var tableCounts: [Int64] = []
        for table in ExportTable.all {
            var notes = EncodeNotes()
            tableCounts.append(try await copyRows(table, since: 0, from: snapshot, into: sink, as: table.name, notes: &notes))
        }
        progress.phase("indexes")
        let run = ExportRunRow(kind: "full", namespace: configuration.namespace, server: connection.hello.serverName, lsn: info.lsn, version: info.version,
                               episodicPosition: info.episodicPosition, startedAtMicroseconds: startedAtMicroseconds, tableRowCounts: tableCounts,
                               rowsWritten: tableCounts.reduce(0, +), rowsDeleted: 0)
        try await execute(statements.fullEpilogue(run: run), on: sink)
        return ExportSummary(outcome: .full, lsn: info.lsn, version: info.version, episodicPosition: info.episodicPosition, rowsWritten: run.rowsWritten, rowsDeleted: 0, seconds: 0)
    }

    /// Applies what changed since `previous` in one transaction on the target schema.
    func incremental(into sink: PostgresSink, snapshot: RemoteSnapshot, since previous: PreviousRun) async throws(ExportError) -> ExportSummary {
        let info = snapshot.info
        progress.expect(0)
        try await execute(statements.incrementalPrologue, on: sink)
        var written: Int64 = 0
        var deleted: Int64 = 0
        for table in ExportTable.all {
            let since = table.rowStream == .episodes ? previous.episodicPosition : previous.version
            try await execute([ExportStatements.createUpsertTable(table)], on: sink)
            var notes = EncodeNotes()
            let rows = try await copyRows(table, since: since, from: snapshot, into: sink, as: ExportStatements.upsertTable(table), notes: &notes)
            written += rows
            if rows > 0 {
                let partitions = notes.leadMonths.sorted().map { ExportSchema.partition(monthStart: $0, ifNotExists: true) }
                try await execute(partitions + ExportStatements.applyUpserts(table), on: sink)
            }
            try await execute([ExportStatements.createLiveTable(table)], on: sink)
            try await copyKeys(table, from: snapshot, into: sink)
            try await execute(["ANALYZE \(ExportStatements.liveTable(table))"], on: sink)
            do {
                deleted += try await sink.queryInteger(ExportStatements.deleteMissing(table)) ?? 0
            } catch {
                throw PostgresErrors.statement(error, "deleting the rows of \(table.name) that are gone")
            }
        }
        let run = ExportRunRow(kind: "incremental", namespace: configuration.namespace, server: connection.hello.serverName, lsn: info.lsn, version: info.version,
                               episodicPosition: info.episodicPosition, sinceVersion: previous.version, sinceEpisodicPosition: previous.episodicPosition,
                               startedAtMicroseconds: startedAtMicroseconds, tableRowCounts: nil, rowsWritten: written, rowsDeleted: deleted)
        try await execute([run.insert(into: "export_runs"), "COMMIT"], on: sink)
        return ExportSummary(outcome: .incremental, lsn: info.lsn, version: info.version, episodicPosition: info.episodicPosition, rowsWritten: written, rowsDeleted: deleted, seconds: 0)
    }

    func execute(_ statements: [String], on sink: any ExportSink) async throws(ExportError) {
        for statement in statements {
            do {
                try await sink.execute(statement)
            } catch {
                throw PostgresErrors.statement(error, "\"\(statement.prefix(80))\"")
            }
        }
    }
}
