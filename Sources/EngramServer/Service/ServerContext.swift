import EngramProtocol
import EngramStorage
import Logging
import NIOCore
import Synchronization

/// What every connection shares: the store, the limits, the tokens, the metrics, the mailboxes.
/// Immutable after start-up except for its atomics and the connection registry, so any event
/// loop may read it.
final class ServerContext: Sendable {
    let store: EngramStore
    let limits: ServerLimits
    let tokens: TokenTable
    let metrics: ServerMetrics
    let logger: Logger
    let serverName: String
    let helloLimits: ServerLimitsReport
    let responseFrameBytesMax: Int
    /// Consolidate and erase requests run here, off the event loops.
    let lifecycle: LifecycleRunner
    private let mailboxes: [ObjectIdentifier: CompletionMailbox]

    let connectionCount = Atomic<Int>(0)
    let shuttingDown = Atomic<Bool>(false)
    private let connections = Mutex<[ObjectIdentifier: RegisteredConnection]>([:])

    init(store: EngramStore, limits: ServerLimits, tokens: TokenTable, metrics: ServerMetrics, logger: Logger, serverName: String, eventLoops: [any EventLoop]) {
        self.store = store
        self.limits = limits
        self.tokens = tokens
        self.metrics = metrics
        self.logger = logger
        self.serverName = serverName
        self.helloLimits = limits.report(store.limits)
        self.responseFrameBytesMax = limits.responseFrameBytesMax(store.limits)
        self.lifecycle = LifecycleRunner(countMax: limits.lifecycleRequestCountMax)
        var mailboxes: [ObjectIdentifier: CompletionMailbox] = [:]
        for loop in eventLoops { mailboxes[ObjectIdentifier(loop)] = CompletionMailbox(eventLoop: loop) }
        self.mailboxes = mailboxes
    }

    /// Requests read on every loop since start.
    var requestCount: UInt64 {
        mailboxes.values.reduce(0) { $0 + $1.requestCount.load(ordering: .relaxed) }
    }

    /// Every loop's mailbox, for the commit watcher.
    var allMailboxes: [CompletionMailbox] { Array(mailboxes.values) }

    func mailbox(for eventLoop: any EventLoop) -> CompletionMailbox {
        guard let mailbox = mailboxes[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("no completion mailbox for event loop \(eventLoop); child channels must run on the server's group")
        }
        return mailbox
    }

    /// An open connection as shutdown sees it.
    struct RegisteredConnection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ConnectionHandler>
    }

    func register(_ connection: RegisteredConnection, id: ObjectIdentifier) {
        connections.withLock { $0[id] = connection }
    }

    func unregister(id: ObjectIdentifier) {
        connections.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Every open connection, for shutdown.
    func openConnections() -> [RegisteredConnection] {
        connections.withLock { Array($0.values) }
    }
}
