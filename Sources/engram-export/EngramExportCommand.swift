import ArgumentParser
import EngramClient
import EngramExport
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `engram-export`: copies a consistent snapshot of one namespace from engramd into PostgreSQL,
/// in the schema the SQL users know (docs/EXPORT.md).
@main
struct EngramExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram-export",
        abstract: "Export a consistent snapshot of one namespace from engramd into PostgreSQL.",
        discussion: """
            A full export loads a staging schema and swaps it in inside one transaction; an \
            incremental export applies the rows changed and deleted since the last export in one \
            transaction. --mode auto (the default) continues the last export when it can.
            PostgreSQL: --postgres URL (postgres://user:password@host:port/database), or PGHOST, \
            PGPORT, PGUSER, PGPASSWORD, PGDATABASE. engramd: --host, --port, --token, or \
            ENGRAM_HOST, ENGRAM_PORT, ENGRAM_TOKEN.
            Exit codes: 0 success (also: already up to date), 2 usage, 3 engramd unreachable or \
            token refused, 4 engramd failed a request, 5 PostgreSQL unreachable, 6 PostgreSQL \
            refused the user, password or database, 7 the schema conflicts, 8 no export to \
            continue, 9 PostgreSQL failed a statement, 10 the --sql file could not be written.
            """)

    @Option(name: [.short, .long], help: "The namespace to export [ENGRAM_NAMESPACE, default \"default\"].")
    var namespace: String?
    @Option(help: "engramd host [ENGRAM_HOST, default 127.0.0.1].")
    var host: String?
    @Option(help: "engramd port [ENGRAM_PORT, default 7379].")
    var port: Int?
    @Option(help: "Token with a read grant on the namespace [ENGRAM_TOKEN].")
    var token: String?
    @Option(help: "PostgreSQL URL; PG* variables fill what it leaves out.")
    var postgres: String?
    @Option(help: "The PostgreSQL schema to write.")
    var schema: String = "engram"
    @Option(help: "auto, full or incremental.")
    var mode: String = "auto"
    @Option(name: .customLong("sql"), help: "Write a full export to this file for psql -f instead of loading PostgreSQL.")
    var sqlFile: String?
    @Flag(help: "Export even if the target already holds this snapshot.")
    var force = false
    @Flag(inversion: .prefixedNo, help: "The progress line on a terminal.")
    var progress = true

    func run() async throws {
        let environment = Self.environment()
        guard let exportMode = ExportMode(rawValue: mode) else {
            throw ValidationError("--mode must be auto, full or incremental, got \(mode)")
        }
        var engram = EngramClientConfiguration()
        engram.host = host ?? environment["ENGRAM_HOST"] ?? engram.host
        if let port {
            engram.port = port
        } else if let text = environment["ENGRAM_PORT"] {
            guard let value = Int(text) else { throw ValidationError("ENGRAM_PORT=\(text) is not a number") }
            engram.port = value
        }
        engram.token = token ?? environment["ENGRAM_TOKEN"] ?? ""
        engram.clientName = "engram-export"
        engram.requestTimeoutMilliseconds = 60_000
        do throws(ExportError) {
            let settings = try PostgresSettings.resolve(url: postgres, environment: environment)
            let configuration = ExportConfiguration(engram: engram, namespace: namespace ?? environment["ENGRAM_NAMESPACE"] ?? "default", postgres: settings,
                                                    schema: schema, mode: exportMode, sqlFile: sqlFile, force: force)
            var logger = Logger(label: "engram-export")
            logger.logLevel = .critical
            let summary = try await Exporter.run(configuration, progress: ExportProgress(enabled: progress ? nil : false), logger: logger)
            print(summary.line)
        } catch {
            ExportProgress.writeStandardError("engram-export: \(error.message)\n")
            Self.exit(withError: ExitCode(error.code.exitCode))
        }
    }

    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
