import EngramStorage
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Everything `engramd` needs to run; every field has a default that works out of the box.
public struct EngramServiceConfiguration: Sendable {
    /// Interface of the data port. Loopback by default: exposing the server is a decision.
    public var host = "127.0.0.1"
    public var port = 7379
    public var adminHost = "127.0.0.1"
    public var adminPort = 7380
    /// The data directory, created if missing.
    public var dataDirectory = "./data"
    /// One event loop per core.
    public var eventLoopCount = System.coreCount
    public var limits = ServerLimits()
    public var storageLimits = Limits()
    /// Empty: open mode, every connection is admin everywhere (development only).
    public var tokens = TokenTable()
    public var serverName = "engramd"

    public init() {}
}

/// `engramd` as a swift-service-lifecycle service: opens the store, serves, and on graceful
/// shutdown (SIGTERM, SIGINT) stops accepting, answers what is in flight, closes the store.
///
/// `onListening` is called once both ports are bound, with their `host:port`; `engramd` prints it.
public struct EngramService: Service {
    public let configuration: EngramServiceConfiguration
    public let logger: Logger
    let onListening: @Sendable (_ data: String, _ admin: String) -> Void

    public init(configuration: EngramServiceConfiguration, logger: Logger, onListening: @escaping @Sendable (_ data: String, _ admin: String) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let configuration = self.configuration
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopCount)
        let ready = Atomic<Bool>(false)
        let metrics = ServerMetrics()
        let storeBox = Mutex<EngramStore?>(nil)
        let admin = try await AdminHTTPServer.start(
            host: configuration.adminHost, port: configuration.adminPort, group: group,
            ready: { ready.load(ordering: .acquiring) },
            metrics: {
                guard let store = storeBox.withLock({ $0 }) else { return nil }
                metrics.refresh(statistics: store.statistics, footprint: try? store.footprint(), hotTier: store.hotTier.statistics)
                return metrics.exposition()
            })
        let logger = self.logger
        let storeConfiguration = StoreConfiguration(directory: configuration.dataDirectory, limits: configuration.storageLimits) { event in
            metrics.record(event)
            switch event {
            case .consolidationPassed(let report):
                // A pass every interval is routine; one that did something is worth a line.
                let idle = report.foldedEventCount + report.expiredItemCount + report.trimmedSegmentCount == 0 && report.erasure == nil
                logger.log(level: idle ? .debug : .info, "consolidation pass", metadata: ["report": "\(report)"])
            default:
                logger.notice("store event", metadata: ["event": "\(event)"])
            }
        }
        let store: EngramStore
        do {
            store = try EngramStore.open(storeConfiguration)
        } catch {
            logger.critical("cannot open the store", metadata: ["directory": "\(configuration.dataDirectory)", "error": "\(error)"])
            await admin.close()
            try await group.shutdownGracefully()
            throw error
        }
        logger.info("store open", metadata: ["directory": "\(configuration.dataDirectory)", "recovery": "\(store.recovery)"])
        let server: EngramServer
        do {
            server = try await EngramServer.start(host: configuration.host, port: configuration.port, store: store, limits: configuration.limits, tokens: configuration.tokens, metrics: metrics, group: group, serverName: configuration.serverName, logger: logger)
        } catch {
            logger.critical("cannot start the server", metadata: ["error": "\(error)"])
            store.close()
            await admin.close()
            try await group.shutdownGracefully()
            throw error
        }
        storeBox.withLock { $0 = store }
        ready.store(true, ordering: .releasing)
        if configuration.tokens.isOpen {
            logger.warning("no tokens configured: open mode, every connection is admin on every namespace")
        }
        onListening(Self.hostAndPort(server.localAddress), Self.hostAndPort(admin.localAddress))

        // Wait for SIGTERM or SIGINT (or cancellation), then drain in order.
        try? await gracefulShutdown()
        ready.store(false, ordering: .releasing)
        logger.info("graceful shutdown started")
        await server.shutdown()
        storeBox.withLock { $0 = nil }
        let writeCount = store.statistics.writeCount
        store.close()
        await admin.close()
        try await group.shutdownGracefully()
        logger.info("engramd stopped", metadata: ["store_writes": "\(writeCount)"])
    }

    static func hostAndPort(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }
}
