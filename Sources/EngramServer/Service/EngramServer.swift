import EngramProtocol
import EngramStorage
import Logging
import NIOCore
import NIOPosix

/// The TCP face of a store: accepts connections on an event-loop group and serves the protocol.
///
/// Start it with `start`, stop it with `shutdown()`, which stops accepting, sends every
/// connection a going-away frame, waits (up to `shutdownGraceMilliseconds`) until each has
/// answered what it read, and returns. The caller owns the store and the group and closes them
/// afterwards.
public final class EngramServer: Sendable {
    let context: ServerContext
    let channel: any Channel
    public let metrics: ServerMetrics
    /// Wakes the loops that have followers after each commit that appended episodes.
    let commitWatcher: Task<Void, Never>

    /// The address the server listens on (with the real port when 0 was asked).
    public var localAddress: SocketAddress? { channel.localAddress }

    private init(context: ServerContext, channel: any Channel) {
        self.context = context
        self.channel = channel
        self.metrics = context.metrics
        self.commitWatcher = Task.detached { await Self.watchCommits(context) }
    }

    /// One task for the whole server: waits for each commit that appends episodes and tells every
    /// event loop with a live follow, which then pushes what its followers have not seen. Loops
    /// without followers are not woken, so appends cost nothing extra when nobody follows.
    private static func watchCommits(_ context: ServerContext) async {
        var seen = context.store.episodicNextPosition
        while !Task.isCancelled {
            guard let next = await context.store.waitForEpisodicCommit(past: seen) else { return }
            guard next > seen else { continue }
            seen = next
            for mailbox in context.allMailboxes where mailbox.followerCount.load(ordering: .relaxed) > 0 {
                mailbox.eventLoop.execute { mailbox.wakeFollowers() }
            }
        }
    }

    public static func start(
        host: String,
        port: Int,
        store: EngramStore,
        limits: ServerLimits = .default,
        tokens: TokenTable = TokenTable(),
        metrics: ServerMetrics = ServerMetrics(),
        group: MultiThreadedEventLoopGroup,
        serverName: String = "engramd",
        logger: Logger
    ) async throws -> EngramServer {
        try limits.validate(against: store.limits)
        let loops = Array(group.makeIterator())
        let context = ServerContext(store: store, limits: limits, tokens: tokens, metrics: metrics, logger: logger, serverName: serverName, eventLoops: loops)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: limits.slowReaderBytesMax / 2, high: limits.slowReaderBytesMax))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.initialize(channel, context)
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return EngramServer(context: context, channel: channel)
    }

    /// Builds a connection's pipeline, or a rejection when the server is at its connection limit.
    private static func initialize(_ channel: any Channel, _ context: ServerContext) throws {
        let count = context.connectionCount.wrappingAdd(1, ordering: .relaxed).newValue
        context.metrics.connections.record(count)
        channel.closeFuture.whenComplete { _ in
            let remaining = context.connectionCount.wrappingSubtract(1, ordering: .relaxed).newValue
            context.metrics.connections.record(remaining)
        }
        let pipeline = channel.pipeline.syncOperations
        if count > context.limits.connectionCountMax {
            context.metrics.connectionsRejected.increment()
            try pipeline.addHandler(ConnectionLimitRejection(connectionCountMax: context.limits.connectionCountMax))
            return
        }
        context.metrics.connectionsAccepted.increment()
        var logger = context.logger
        if let remote = channel.remoteAddress { logger[metadataKey: "peer"] = "\(remote)" }
        try pipeline.addHandler(ConnectionHandler(server: context, mailbox: context.mailbox(for: channel.eventLoop), logger: logger))
    }

    /// Stops accepting, tells every connection to go away, and waits for them to finish.
    public func shutdown() async {
        context.shuttingDown.store(true, ordering: .sequentiallyConsistent)
        commitWatcher.cancel()
        try? await channel.close()
        // Connections accepted just before the listener closed register after the first look,
        // so look again until none is left.
        var first = true
        while true {
            let connections = context.openConnections()
            if connections.isEmpty { break }
            if first {
                context.logger.info("shutting down: answering what is in flight", metadata: ["connections": "\(connections.count)"])
                first = false
            }
            await drain(connections)
        }
        await context.lifecycle.shutdown()
    }

    private func drain(_ connections: [ServerContext.RegisteredConnection]) async {
        for connection in connections {
            let handler = connection.handler
            handler.eventLoop.execute { handler.value.beginGoingAway() }
        }
        let grace = TimeAmount.milliseconds(Int64(context.limits.shutdownGraceMilliseconds))
        for connection in connections {
            let closed = connection.channel.closeFuture
            let deadline = connection.channel.eventLoop.scheduleTask(in: grace) {
                connection.channel.close(promise: nil)
            }
            try? await closed.get()
            deadline.cancel()
            context.unregister(id: ObjectIdentifier(connection.channel))
        }
    }
}

/// Answers a connection over the limit with a `busy` frame (request id 0) and closes it.
final class ConnectionLimitRejection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let connectionCountMax: Int

    init(connectionCountMax: Int) { self.connectionCountMax = connectionCountMax }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 96)
        FrameEncoder.writeError(.busy, "the server is at its limit of \(connectionCountMax) connections; retry shortly", opcode: .none, requestID: 0, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
