import EngramProtocol
import NIOCore
import NIOPosix
import Synchronization

/// One connection to `engramd`, authenticated, with any number of requests in flight.
///
/// `Sendable`: any task may send on it; requests are written on the channel's event loop in the
/// order they arrive there and answered by request id. Close it with `close()`.
public final class EngramConnection: Sendable {
    let channel: any Channel
    let flags: ConnectionFlags
    /// The server's answer to hello: its version, limits and this token's grants.
    public let hello: HelloResponse
    let nextRequestID = Atomic<UInt64>(1)
    let requestTimeout: TimeAmount

    private init(channel: any Channel, flags: ConnectionFlags, hello: HelloResponse, requestTimeout: TimeAmount) {
        self.channel = channel
        self.flags = flags
        self.hello = hello
        self.requestTimeout = requestTimeout
    }

    /// Connects, says hello, and returns the authenticated connection.
    public static func connect(_ configuration: EngramClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws(EngramClientError) -> EngramConnection {
        let flags = ConnectionFlags()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(side: .client, frameBytesMax: configuration.responseFrameBytesMax)))
                    try channel.pipeline.syncOperations.addHandler(ClientChannelHandler(flags: flags))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw EngramClientError(.connectFailed, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        let timeout = TimeAmount.milliseconds(Int64(configuration.requestTimeoutMilliseconds))
        let hello = HelloRequest(defaultDurability: configuration.defaultDurability, token: Array(configuration.token.utf8), clientName: configuration.clientName)
        do throws(EngramClientError) {
            let frame = try await send(.hello(hello), requestID: 1, flags: [], channel: channel, timeout: timeout)
            guard case .hello(let answer) = try decode(frame) else {
                throw EngramClientError(.protocolViolation, "the answer to hello is not a hello")
            }
            let connection = EngramConnection(channel: channel, flags: flags, hello: answer, requestTimeout: timeout)
            connection.nextRequestID.store(2, ordering: .relaxed)
            return connection
        } catch {
            channel.close(promise: nil)
            // Before a successful hello nothing can have been executed, so a connection that
            // breaks now (a listener closing with the connection still in its backlog resets it)
            // is a failure to connect, which is safe to retry.
            if error.code == .connectionClosed || error.code == .timeout {
                throw EngramClientError(.connectFailed, "the connection to \(configuration.host):\(configuration.port) broke before hello was answered: \(error.message)")
            }
            throw error
        }
    }

    /// Sends one request and returns its answer; a non-zero status is thrown.
    public func send(_ request: Request, durability: WireDurability? = nil) async throws(EngramClientError) -> Response {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let flags = request.opcode.writes ? FrameFlags(durability: durability) : []
        let frame = try await Self.send(request, requestID: id, flags: flags, channel: channel, timeout: requestTimeout)
        return try Self.decode(frame)
    }

    /// Writes the request to the connection before it returns, and returns a handle on its
    /// answer. Calls from one task are therefore sent, and their writes applied by the server, in
    /// call order (docs/PROTOCOL.md, "Pipelining"), however many are in flight: what a bulk loader
    /// needs and `send` from concurrent tasks cannot promise.
    public func start(_ request: Request, durability: WireDurability? = nil) -> PendingResponse {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let flags = request.opcode.writes ? FrameFlags(durability: durability) : []
        return PendingResponse(frame: Self.write(request, requestID: id, flags: flags, channel: channel, timeout: requestTimeout))
    }

    private static func send(_ request: Request, requestID: UInt64, flags: FrameFlags, channel: any Channel, timeout: TimeAmount) async throws(EngramClientError) -> Frame {
        try await PendingResponse.frame(of: write(request, requestID: requestID, flags: flags, channel: channel, timeout: timeout))
    }

    private static func write(_ request: Request, requestID: UInt64, flags: FrameFlags, channel: any Channel, timeout: TimeAmount) -> EventLoopFuture<Frame> {
        var buffer = channel.allocator.buffer(capacity: 64)
        FrameEncoder.write(request, requestID: requestID, flags: flags, into: &buffer)
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        channel.writeAndFlush(OutboundRequest(requestID: requestID, frame: buffer, promise: promise, timeout: timeout)).whenFailure { _ in
            promise.fail(EngramClientError(.notExecuted, "the connection was closed before the request was sent"))
        }
        return promise.futureResult
    }

    static func decode(_ frame: Frame) throws(EngramClientError) -> Response {
        let response: Response
        do {
            response = try Response.decode(frame)
        } catch {
            throw EngramClientError(.protocolViolation, "\(error)")
        }
        if case .failure(let status, let message) = response {
            throw EngramClientError(.server(status), message)
        }
        return response
    }

    /// Sends a follow request and returns the sink its frames arrive in. The first frame is the
    /// server's acceptance (or its refusal); the connection should carry nothing else, since a
    /// slow consumer of the follow stops the connection's reading.
    func follow(_ request: Request) async throws(EngramClientError) -> FollowSink {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let channel = self.channel
        let sink = FollowSink(resumeReading: {
            channel.eventLoop.execute {
                try? channel.pipeline.syncOperations.handler(type: ClientChannelHandler.self).resumeReading()
            }
        })
        var buffer = channel.allocator.buffer(capacity: 64)
        FrameEncoder.write(request, requestID: id, into: &buffer)
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        channel.writeAndFlush(OutboundRequest(requestID: id, frame: buffer, promise: promise, timeout: requestTimeout, stream: sink)).whenFailure { _ in
            promise.fail(EngramClientError(.notExecuted, "the connection was closed before the follow was sent"))
        }
        do {
            _ = try await promise.futureResult.get()
        } catch let error as EngramClientError {
            throw error
        } catch {
            throw EngramClientError(.connectionClosed, "\(error)")
        }
        return sink
    }

    /// Whether the connection can take new requests: open, and the server has not said it is
    /// going away.
    public var isUsable: Bool {
        channel.isActive && !flags.goneAway.load(ordering: .relaxed)
    }

    public func close() async {
        try? await channel.close()
    }
}

/// What the channel handler tells the connection object across threads.
final class ConnectionFlags: Sendable {
    /// Set when the server said it is going away or the connection failed.
    let goneAway = Atomic<Bool>(false)
}

/// The answer to a request `EngramConnection.start` wrote: await it once or many times, from any
/// task.
public struct PendingResponse: Sendable {
    let frame: EventLoopFuture<Frame>

    /// The answer; a non-zero status is thrown, as `EngramConnection.send` throws it.
    public func response() async throws(EngramClientError) -> Response {
        try EngramConnection.decode(try await Self.frame(of: frame))
    }

    static func frame(of future: EventLoopFuture<Frame>) async throws(EngramClientError) -> Frame {
        do {
            return try await future.get()
        } catch let error as EngramClientError {
            throw error
        } catch {
            throw EngramClientError(.connectionClosed, "\(error)")
        }
    }
}
