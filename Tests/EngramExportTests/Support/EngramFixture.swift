#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramServer
import EngramStorage
import Logging
import NIOPosix

/// A store in a temporary folder served by an in-process engramd on a free loopback port. Tests
/// write through the store directly (no records opcodes are needed for that) and export through
/// the server, as a real export does.
final class EngramFixture: Sendable {
    let directory: String
    let store: EngramStore
    let server: EngramServer
    let port: Int
    let namespace: Namespace

    private init(directory: String, store: EngramStore, server: EngramServer, port: Int, namespace: Namespace) {
        self.directory = directory
        self.store = store
        self.server = server
        self.port = port
        self.namespace = namespace
    }

    static func start(namespace: String = "crm", limits: Limits = .default, serverLimits: ServerLimits = .default) async throws -> EngramFixture {
        let directory = try makeTemporaryDirectory(prefix: "engram-export-store")
        // No background consolidation: a pass writes (engagement summaries, expiry), and the tests
        // compare exports of a store that only they change.
        var limits = limits
        limits.consolidationIntervalMilliseconds = 0
        let store = try EngramStore.open(StoreConfiguration(directory: directory, limits: limits))
        var logger = Logger(label: "engramd-test")
        logger.logLevel = .critical
        let server = try await EngramServer.start(host: "127.0.0.1", port: 0, store: store, limits: serverLimits, group: MultiThreadedEventLoopGroup.singleton, serverName: "engramd-test", logger: logger)
        guard let port = server.localAddress?.port else { throw TestFailure("the server has no port") }
        return EngramFixture(directory: directory, store: store, server: server, port: port, namespace: try Namespace(namespace))
    }

    var clientConfiguration: EngramClientConfiguration {
        EngramClientConfiguration(host: "127.0.0.1", port: port, clientName: "export-test", connectionCount: 1, requestTimeoutMilliseconds: 60_000)
    }

    func stop() async {
        await server.shutdown()
        store.close()
        _ = try? PostgresCluster.run(["/bin/rm", "-rf", directory])
    }
}
