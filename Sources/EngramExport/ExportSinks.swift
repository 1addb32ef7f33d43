#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Where the export's statements and COPY data go: a live PostgreSQL connection, or a `.sql`
/// file that `psql -f` runs later. Both receive the same statements in the same order.
protocol ExportSink: Sendable {
    func execute(_ sql: String) async throws
    /// `COPY table (columns) FROM STDIN` with the rows `produce` writes, in text format.
    func copy(table: String, columns: [String], _ produce: (any CopyDataWriter) async throws -> Void) async throws
}

protocol CopyDataWriter: Sendable {
    func write(_ data: ByteBuffer) async throws
}

/// A live connection (postgres-nio), owned by one export for its whole run.
final class PostgresSink: ExportSink {
    let connection: PostgresConnection
    let logger: Logger

    private init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Connects and authenticates; errors are sorted into unreachable and refused.
    static func connect(_ settings: PostgresSettings, logger: Logger) async throws(ExportError) -> PostgresSink {
        var configuration = PostgresConnection.Configuration(host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger)
            return PostgresSink(connection: connection, logger: logger)
        } catch {
            throw PostgresErrors.connecting(error, settings)
        }
    }

    func close() async {
        try? await connection.close()
    }

    func execute(_ sql: String) async throws {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await _ in rows {}
    }

    /// The first column of the first row as an integer, or nil when there is no row or it is NULL.
    func queryInteger(_ sql: String) async throws -> Int64? {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        var value: Int64?
        var first = true
        for try await row in rows {
            if first { value = try row.decode(Int64?.self) }
            first = false
        }
        return value
    }

    /// The first column of every row, as text (NULL as nil).
    func queryTexts(_ sql: String) async throws -> [String?] {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        var values: [String?] = []
        for try await row in rows { values.append(try row.decode(String?.self)) }
        return values
    }

    func copy(table: String, columns: [String], _ produce: (any CopyDataWriter) async throws -> Void) async throws {
        try await connection.copyFrom(table: table, columns: columns, format: .text(.init()), logger: logger) { writer in
            try await produce(PostgresCopyWriter(writer: writer))
        }
    }

    struct PostgresCopyWriter: CopyDataWriter {
        let writer: PostgresCopyFromWriter
        func write(_ data: ByteBuffer) async throws { try await writer.write(data) }
    }
}

/// A `.sql` file for `psql -f`: statements end with a semicolon and a newline; COPY data goes
/// between `COPY ... FROM stdin;` and a line holding `\.`. Written through one buffer with
/// `write(2)`; `finish()` syncs and closes it.
final class SQLFileSink: ExportSink, @unchecked Sendable {
    // @unchecked: one export task writes it at a time; nothing else holds it.
    private let descriptor: Int32
    let path: String
    private var buffer = ByteBuffer()
    static let flushBytes = 1 << 20

    init(path: String) throws(ExportError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ExportError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        self.descriptor = descriptor
        self.path = path
        buffer.reserveCapacity(Self.flushBytes * 2)
    }

    deinit { close(descriptor) }

    func execute(_ sql: String) async throws {
        buffer.writeString(sql)
        buffer.writeString(sql.hasSuffix(";") ? "\n" : ";\n")
        try flushIfFull()
    }

    func copy(table: String, columns: [String], _ produce: (any CopyDataWriter) async throws -> Void) async throws {
        buffer.writeString("COPY \(table) (\(columns.joined(separator: ", "))) FROM stdin;\n")
        try await produce(FileCopyWriter(sink: self))
        buffer.writeString("\\.\n")
        try flushIfFull()
    }

    fileprivate func append(_ data: ByteBuffer) throws {
        var data = data
        buffer.writeBuffer(&data)
        try flushIfFull()
    }

    private func flushIfFull() throws {
        if buffer.readableBytes >= Self.flushBytes { try flush() }
    }

    private func flush() throws {
        while buffer.readableBytes > 0 {
            let written = buffer.withUnsafeReadableBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ExportError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            buffer.moveReaderIndex(forwardBy: written)
        }
        buffer.clear()
    }

    /// Writes what is buffered and syncs the file.
    func finish() throws {
        try flush()
        guard fsync(descriptor) == 0 else { throw ExportError(.io, "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    struct FileCopyWriter: CopyDataWriter, @unchecked Sendable {
        let sink: SQLFileSink
        func write(_ data: ByteBuffer) async throws { try sink.append(data) }
    }
}

/// Sorting postgres-nio's errors into the export's.
enum PostgresErrors {
    static func connecting(_ error: any Error, _ settings: PostgresSettings) -> ExportError {
        let place = "PostgreSQL at \(settings.host):\(settings.port)"
        guard let error = error as? PSQLError else { return ExportError(.postgresUnreachable, "cannot reach \(place): \(error)") }
        if error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "\(error)"
            // 28xxx: invalid authorization; 3D000: the database does not exist.
            if state.hasPrefix("28") || state == "3D000" {
                return ExportError(.postgresAuthentication, "\(place) refused user \(settings.user) on database \(settings.database): \(message) (SQLSTATE \(state))")
            }
            return ExportError(.postgres, "\(place) failed the connection: \(message) (SQLSTATE \(state))")
        }
        if error.code == .authMechanismRequiresPassword || error.code == .saslError || error.code == .unsupportedAuthMechanism {
            return ExportError(.postgresAuthentication, "\(place) refused user \(settings.user): \(error.code)")
        }
        let cause = error.underlying.map { "\($0)" } ?? "\(error.code)"
        return ExportError(.postgresUnreachable, "cannot reach \(place): \(cause)")
    }

    /// A statement's failure: the server's message and SQLSTATE, and the statement's start.
    static func statement(_ error: any Error, _ what: String) -> ExportError {
        if let error = error as? ExportError { return error }
        if let error = error as? PSQLError {
            if error.code == .server {
                let state = error.serverInfo?[.sqlState] ?? ""
                let message = error.serverInfo?[.message] ?? "\(error)"
                let conflict = state == "P0001" || state == "42P06" || state == "42P07" || state == "55P03"
                return ExportError(conflict ? .schemaConflict : .postgres, "PostgreSQL failed \(what): \(message) (SQLSTATE \(state))")
            }
            if error.code == .serverClosedConnection || error.code == .connectionError || error.code == .uncleanShutdown {
                return ExportError(.postgresUnreachable, "the PostgreSQL connection broke during \(what): \(error.code)")
            }
            return ExportError(.postgres, "PostgreSQL failed \(what): \(error.code)")
        }
        return ExportError(.postgres, "\(what) failed: \(error)")
    }
}
