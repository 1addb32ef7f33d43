import ArgumentParser
import EngramServer
import EngramStorage
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `engramd`: serves one data directory over the Engram protocol.
///
/// Every option can also be set by an environment variable (named in its help); a flag wins over
/// the variable, the variable over the default. The defaults run a development server on loopback
/// with `./data` as its directory.
@main
struct Engramd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engramd",
        abstract: "The Engram server: memory and data for agents over a binary TCP protocol.",
        discussion: "Stops gracefully on SIGTERM or SIGINT: stops accepting, answers what is in flight, closes the store. Prints one line 'engramd listening on HOST:PORT admin HOST:PORT' on standard output when ready; logs go to standard error.")

    @Option(help: "Interface of the data port [ENGRAM_HOST, default 127.0.0.1].")
    var host: String?
    @Option(help: "Data port; 0 picks a free one [ENGRAM_PORT, default 7379].")
    var port: Int?
    @Option(help: "Interface of the admin HTTP port [ENGRAM_ADMIN_HOST, default 127.0.0.1].")
    var adminHost: String?
    @Option(help: "Admin HTTP port with /health and /metrics; 0 picks a free one [ENGRAM_ADMIN_PORT, default 7380].")
    var adminPort: Int?
    @Option(help: "Data directory, created if missing [ENGRAM_DATA_DIRECTORY, default ./data].")
    var dataDirectory: String?
    @Option(help: "Event loops (threads serving connections) [ENGRAM_EVENT_LOOPS, default one per core].")
    var eventLoops: Int?
    @Option(help: "A token grant TOKEN:ROLE:NAMESPACE, ROLE read|write|admin, NAMESPACE * for all; repeatable [ENGRAM_TOKENS, comma-separated]. Without any token the server runs in open mode.")
    var token: [String] = []
    @Option(help: "A file of token grants, one 'TOKEN ROLE NAMESPACE' per line, # comments [ENGRAM_TOKENS_FILE].")
    var tokensFile: String?
    @Option(help: "Most open connections [ENGRAM_CONNECTIONS_MAX, default 4096].")
    var connectionsMax: Int?
    @Option(help: "Largest request frame in bytes [ENGRAM_FRAME_BYTES_MAX, default 2097152].")
    var frameBytesMax: Int?
    @Option(help: "Unanswered requests per connection before reading pauses [ENGRAM_IN_FLIGHT_MAX, default 128].")
    var inFlightMax: Int?
    @Option(help: "Episodic follows one connection may hold, at most --in-flight-max [ENGRAM_FOLLOWS_MAX, default 16].")
    var followsMax: Int?
    @Option(help: "Answer bytes waiting for a client before the server stops reading it [ENGRAM_SLOW_READER_BYTES_MAX, default 1048576].")
    var slowReaderBytesMax: Int?
    @Option(help: "Close a connection whose answers stay unread this long, in milliseconds [ENGRAM_SLOW_READER_TIMEOUT_MS, default 30000].")
    var slowReaderTimeoutMs: Int?
    @Option(help: "Close connections idle this long, in milliseconds [ENGRAM_IDLE_TIMEOUT_MS, default 300000].")
    var idleTimeoutMs: Int?
    @Option(help: "Close connections that send no hello within this long, in milliseconds [ENGRAM_HELLO_TIMEOUT_MS, default 10000].")
    var helloTimeoutMs: Int?
    @Option(help: "Address space reserved for the LMDB map, in bytes [ENGRAM_MAP_BYTES, default 64 GiB].")
    var mapBytes: Int?
    @Option(help: "How long the writer holds a batch open for more writes, in microseconds [ENGRAM_BATCH_WAIT_US, default 0].")
    var batchWaitUs: Int?
    @Option(help: "Time between background consolidation passes (expiry, engagement fold, retention, unfinished erasures), in milliseconds; 0 runs none [ENGRAM_CONSOLIDATION_INTERVAL_MS, default 60000].")
    var consolidationIntervalMs: Int?
    @Option(help: "Wall time one consolidation pass may take, in milliseconds; each of its writer commands stays within 2 ms [ENGRAM_CONSOLIDATION_PASS_MS, default 1000].")
    var consolidationPassMs: Int?
    @Option(help: "A checkpoint runs this long after the previous one if anything was written, in milliseconds; a longer interval leaves more log to replay after a crash [ENGRAM_CHECKPOINT_INTERVAL_MS, default 5000].")
    var checkpointIntervalMs: Int?
    @Option(help: "A checkpoint also runs once this many bytes of commit log were written since the last one; bounds replay at open [ENGRAM_CHECKPOINT_LOG_BYTES, default 33554432].")
    var checkpointLogBytes: Int?
    @Option(help: "trace, debug, info, notice, warning, error or critical [ENGRAM_LOG_LEVEL, default info].")
    var logLevel: String?

    /// The configuration from flags, then environment variables, then defaults. Kept out of the
    /// async `run()`: a debug build of Swift 6.3 crashed (a bad release in `run()`'s async frame)
    /// once the configuration's structs grew large; a synchronous function holds them on the stack.
    private func makeConfiguration(_ environment: Environment) throws -> EngramServiceConfiguration {
        var configuration = EngramServiceConfiguration()
        configuration.host = host ?? environment["ENGRAM_HOST"] ?? configuration.host
        configuration.port = try port ?? environment.integer("ENGRAM_PORT") ?? configuration.port
        configuration.adminHost = adminHost ?? environment["ENGRAM_ADMIN_HOST"] ?? configuration.adminHost
        configuration.adminPort = try adminPort ?? environment.integer("ENGRAM_ADMIN_PORT") ?? configuration.adminPort
        configuration.dataDirectory = dataDirectory ?? environment["ENGRAM_DATA_DIRECTORY"] ?? configuration.dataDirectory
        configuration.eventLoopCount = try eventLoops ?? environment.integer("ENGRAM_EVENT_LOOPS") ?? configuration.eventLoopCount
        var limits = configuration.limits
        limits.connectionCountMax = try connectionsMax ?? environment.integer("ENGRAM_CONNECTIONS_MAX") ?? limits.connectionCountMax
        limits.requestFrameBytesMax = try frameBytesMax ?? environment.integer("ENGRAM_FRAME_BYTES_MAX") ?? limits.requestFrameBytesMax
        limits.inFlightRequestCountMax = try inFlightMax ?? environment.integer("ENGRAM_IN_FLIGHT_MAX") ?? limits.inFlightRequestCountMax
        limits.followCountMax = try followsMax ?? environment.integer("ENGRAM_FOLLOWS_MAX") ?? limits.followCountMax
        limits.slowReaderBytesMax = try slowReaderBytesMax ?? environment.integer("ENGRAM_SLOW_READER_BYTES_MAX") ?? limits.slowReaderBytesMax
        limits.slowReaderTimeoutMilliseconds = try slowReaderTimeoutMs ?? environment.integer("ENGRAM_SLOW_READER_TIMEOUT_MS") ?? limits.slowReaderTimeoutMilliseconds
        limits.idleTimeoutMilliseconds = try idleTimeoutMs ?? environment.integer("ENGRAM_IDLE_TIMEOUT_MS") ?? limits.idleTimeoutMilliseconds
        limits.helloTimeoutMilliseconds = try helloTimeoutMs ?? environment.integer("ENGRAM_HELLO_TIMEOUT_MS") ?? limits.helloTimeoutMilliseconds
        configuration.limits = limits
        configuration.storageLimits.mapBytes = try mapBytes ?? environment.integer("ENGRAM_MAP_BYTES") ?? configuration.storageLimits.mapBytes
        configuration.storageLimits.batchWaitMicroseconds = try batchWaitUs ?? environment.integer("ENGRAM_BATCH_WAIT_US") ?? configuration.storageLimits.batchWaitMicroseconds
        configuration.storageLimits.consolidationIntervalMilliseconds = try consolidationIntervalMs ?? environment.integer("ENGRAM_CONSOLIDATION_INTERVAL_MS") ?? configuration.storageLimits.consolidationIntervalMilliseconds
        configuration.storageLimits.consolidationPassMilliseconds = try consolidationPassMs ?? environment.integer("ENGRAM_CONSOLIDATION_PASS_MS") ?? configuration.storageLimits.consolidationPassMilliseconds
        configuration.storageLimits.checkpointIntervalMilliseconds = try checkpointIntervalMs ?? environment.integer("ENGRAM_CHECKPOINT_INTERVAL_MS") ?? configuration.storageLimits.checkpointIntervalMilliseconds
        configuration.storageLimits.checkpointLogBytes = try checkpointLogBytes ?? environment.integer("ENGRAM_CHECKPOINT_LOG_BYTES") ?? configuration.storageLimits.checkpointLogBytes
        configuration.tokens = try loadTokens(environment)
        guard configuration.eventLoopCount > 0 else { throw ValidationError("--event-loops must be positive") }
        // The store would refuse these at open (Limits.validate); said here, they are usage errors.
        guard configuration.storageLimits.checkpointIntervalMilliseconds > 0 else { throw ValidationError("--checkpoint-interval-ms must be positive") }
        guard configuration.storageLimits.checkpointLogBytes > 0 else { throw ValidationError("--checkpoint-log-bytes must be positive") }
        return configuration
    }

    func run() async throws {
        let environment = Environment()
        let configuration = try makeConfiguration(environment)

        let levelName = logLevel ?? environment["ENGRAM_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else { throw ValidationError("unknown log level \(levelName)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "engramd")
        raiseDescriptorLimit(to: configuration.limits.connectionCountMax + 256, logger: logger)
        let service = EngramService(configuration: configuration, logger: logger) { data, admin in
            print("engramd listening on \(data) admin \(admin)")
            fflush(nil)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    private func loadTokens(_ environment: Environment) throws -> TokenTable {
        var table = TokenTable()
        var grants = token
        if grants.isEmpty, let fromEnvironment = environment["ENGRAM_TOKENS"] {
            grants = fromEnvironment.split(separator: ",").map(String.init)
        }
        for grant in grants { try table.add(specification: grant) }
        if let path = tokensFile ?? environment["ENGRAM_TOKENS_FILE"] {
            guard let contents = readFile(path) else { throw ValidationError("cannot read the tokens file \(path)") }
            try table.add(fileContents: contents)
        }
        return table
    }

    /// Every connection is a descriptor; a default soft limit of 1,024 would refuse connections
    /// long before `connectionCountMax`. Raises the soft limit toward the hard one.
    private func raiseDescriptorLimit(to wanted: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        guard limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 || limit.rlim_cur < rlim_t(wanted) {
            logger.warning("the descriptor limit is below what connectionCountMax needs", metadata: ["limit": "\(limit.rlim_cur)", "wanted": "\(wanted)"])
        }
    }

    private func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Environment variables, with integer parsing that names the variable on failure.
struct Environment {
    subscript(name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(name)=\(text) is not an integer") }
        return value
    }
}
