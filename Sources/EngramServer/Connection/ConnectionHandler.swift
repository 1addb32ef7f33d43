import EngramProtocol
import EngramStorage
import Logging
import NIOCore

/// One client connection: authentication, flow control, request dispatch and answers.
///
/// Lives in the connection's pipeline and is touched only on the channel's event loop (write completions reach it through the loop's `CompletionMailbox`).
/// Answers are appended to one output buffer and flushed once per read burst or mailbox drain, so
/// a pipelined burst costs one `write` system call rather than one per request.
///
/// The state every request touches (marked `@exclusivity(unchecked)`) is read and written on the
/// event loop only, and no access to it overlaps another: the closures passed to `withOutput`
/// only encode into the buffer. Swift's dynamic exclusivity checks on it cost about 7 % of the
/// server's CPU per pipelined short-term get, so they are off for those fields.
///
/// It runs the `FrameDecoder` state machine itself over its own cumulation buffer rather than
/// behind NIO's `ByteToMessageHandler`: a pipelined burst of small requests then costs no pipeline
/// hop, no `NIOAny` box and no unspecialised generic call per frame (about a tenth of the server's
/// time for 16-deep pipelined gets).
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase {
        case awaitingHello
        case ready
        /// Shutting down: the going-away frame is sent; no more reads; closing when drained.
        case goingAway
        case closed
    }

    let server: ServerContext
    let mailbox: CompletionMailbox
    var logger: Logger
    private(set) var context: ChannelHandlerContext!
    @exclusivity(unchecked) var phase = Phase.awaitingHello
    var grants: [Grant] = []
    var defaultDurability = WireDurability.durable
    /// Writes submitted to the store and not yet answered.
    @exclusivity(unchecked) var inFlightCount = 0
    /// Request frames read, the hello included; reported in the going-away frame.
    @exclusivity(unchecked) var requestsRead: UInt64 = 0
    /// Answers not yet flushed. One buffer for the connection's life: after a flush the socket
    /// has usually taken the bytes and released it, so `clear()` reuses its storage in place
    /// (when it has not, `clear()` copies on write and nothing is lost).
    @exclusivity(unchecked) var output = ByteBuffer()
    private var dirtyInMailbox = false
    private var pendingRead = false
    private var readingPaused = false
    private var inputClosed = false
    private var closing = false
    /// After the output side closed: input is read only to see the client's end of file.
    private var discardingInput = false
    private var closedByServer = false
    private var helloTimeout: Scheduled<Void>?
    /// The idle check: NIO's IdleStateHandler would cost a hop and a write promise per flush; one
    /// timer per connection that looks at the last activity costs nothing per request.
    private var idleCheck: Scheduled<Void>?
    @exclusivity(unchecked) var lastActivityNanoseconds: UInt64 = 0
    private var slowReaderTimeout: Scheduled<Void>?
    var namespaceCache: [String: CachedNamespace] = [:]
    /// Snapshots this connection holds open (ConnectionHandler+Snapshot.swift).
    var snapshots = SnapshotSessions()
    /// The namespace the connection used last and its role, matched by bytes on the short-term
    /// fast path so a get or put builds no `String` for it.
    @exclusivity(unchecked) var lastNamespace: (namespace: Namespace, role: Role?)?
    /// Live episodic follows, by the request id that started them.
    var follows: [UInt64: Follow] = [:]

    struct CachedNamespace {
        let namespace: Result<Namespace, EngramError>
        let role: Role?
    }

    @exclusivity(unchecked) private var decoder: FrameDecoder
    /// Bytes read and not yet decoded; nil when empty, so a read that holds whole frames is
    /// decoded in place without a copy.
    @exclusivity(unchecked) private var cumulation: ByteBuffer?
    /// Past this many consumed bytes the cumulation is compacted, so a long-lived connection's
    /// buffer does not grow with its history.
    private static let compactionBytes = 64 << 10
    /// Frames of a burst whose short-term gets and puts are prefetched before the first is served: a
    /// pipeline of 16 to 64 requests is the shape that gains; more would outrun the cache.
    static let prefetchFrameCountMax = 64
    /// The largest output buffer a connection keeps between flushes.
    private static let outputRetainedBytesMax = 64 << 10

    init(server: ServerContext, mailbox: CompletionMailbox, logger: Logger) {
        self.server = server
        self.mailbox = mailbox
        self.logger = logger
        self.decoder = FrameDecoder(side: .server, frameBytesMax: server.limits.requestFrameBytesMax)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        output = context.channel.allocator.buffer(capacity: 4096)
        server.register(ServerContext.RegisteredConnection(channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop)), id: ObjectIdentifier(context.channel))
    }

    /// The context holds this handler and this handler held the context: drop the reference so
    /// the pair is freed. The channel is closed by now (`phase == .closed`), and every late
    /// caller (a write completion, a timer) checks the phase before it touches the context.
    func handlerRemoved(context: ChannelHandlerContext) {
        phase = .closed
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let timeout = TimeAmount.milliseconds(Int64(server.limits.helloTimeoutMilliseconds))
        helloTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard phase == .awaitingHello else { return }
            server.metrics.helloTimeouts.increment()
            logger.info("closing a connection that sent no hello in time", metadata: ["timeout_ms": "\(server.limits.helloTimeoutMilliseconds)"])
            closeNow()
        }
        lastActivityNanoseconds = Self.now()
        scheduleIdleCheck(in: server.limits.idleTimeoutMilliseconds)
        if server.shuttingDown.load(ordering: .relaxed) { beginGoingAway() }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        snapshots.closeAll()
        endAllFollows { _ in .failure(.closed, message: "") }
        helloTimeout?.cancel()
        idleCheck?.cancel()
        slowReaderTimeout?.cancel()
        server.unregister(id: ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if closing { return }  // after the last answer: input is only drained
        lastActivityNanoseconds = Self.now()
        if cumulation == nil {
            cumulation = bytes
        } else {
            var bytes = bytes
            cumulation!.writeBuffer(&bytes)
        }
        decodeFrames(seenEndOfFile: false)
    }

    /// Decodes and handles the whole frames in the cumulation, stopping while too many requests
    /// are in flight or the client is not reading its answers (the rest waits in the cumulation,
    /// so both bounds are exact rather than a read's worth late). A decoding error answers and
    /// closes. Frames decoded after the going-away frame counted the requests read are dropped:
    /// the client was told they were not read.
    private func decodeFrames(seenEndOfFile: Bool) {
        guard var buffer = cumulation else { return }
        cumulation = nil
        prefetchShortTermItems(buffer)
        do {
            while phase == .awaitingHello || phase == .ready, !closing, !mustStopDecoding() {
                guard let frame = try decoder.decodeFrame(&buffer) else { break }
                requestsRead += 1
                mailbox.requestCount.add(1, ordering: .relaxed)
                handle(frame, receivedNanoseconds: lastActivityNanoseconds)
            }
            if seenEndOfFile && buffer.readableBytes > 0 && !closing && !mustStopDecoding() {
                _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true)
            }
        } catch {
            errorCaught(context: context, error: error)
            return
        }
        if buffer.readableBytes > 0 {
            if buffer.readerIndex >= Self.compactionBytes { buffer.discardReadBytes() }
            cumulation = buffer
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushOutput()
        updateReadPause()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if discardingInput {
            context.read()
        } else if readingPaused || phase == .goingAway || phase == .closed {
            pendingRead = true
        } else {
            context.read()
        }
    }

    /// Whether decoding must wait: the in-flight limit is reached, or the answers waiting for the
    /// client passed `slowReaderBytesMax` (they are flushed first; if the socket takes them,
    /// decoding goes on).
    private func mustStopDecoding() -> Bool {
        if inFlightCount >= server.limits.inFlightRequestCountMax { return true }
        if output.readableBytes >= server.limits.slowReaderBytesMax {
            flushOutput()
        }
        return !context.channel.isWritable
    }

    /// Frames left in the cumulation when decoding stopped are taken up again once the
    /// condition clears.
    func resumeDecoding() {
        guard cumulation != nil, !mustStopDecoding() else { return }
        decodeFrames(seenEndOfFile: inputClosed)
        flushOutput()
    }

    /// Stops reading while too many requests are unanswered or the client is not reading its
    /// answers; resumes when both clear.
    func updateReadPause() {
        let shouldPause = inFlightCount >= server.limits.inFlightRequestCountMax || !context.channel.isWritable
        if shouldPause && !readingPaused { server.metrics.readPauses.increment() }
        readingPaused = shouldPause
        if !shouldPause && pendingRead && phase != .goingAway && phase != .closed {
            pendingRead = false
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            slowReaderTimeout?.cancel()
            slowReaderTimeout = nil
            resumeDecoding()
        } else if slowReaderTimeout == nil {
            let timeout = TimeAmount.milliseconds(Int64(server.limits.slowReaderTimeoutMilliseconds))
            slowReaderTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                server.metrics.slowReaderClosed.increment()
                logger.info("closing a connection whose answers stayed unread", metadata: ["timeout_ms": "\(server.limits.slowReaderTimeoutMilliseconds)"])
                closeNow()
            }
        }
        updateReadPause()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            if discardingInput {
                closeNow()
                return
            }
            // The client sent everything it will send: a partial frame left over is an error;
            // otherwise answer what is in flight, then close.
            inputClosed = true
            decodeFrames(seenEndOfFile: true)
            closeIfDrained()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Closing already: the linger timer or the client's end of file finishes the close; an
        // error now (bytes after a malformed frame) must not cut the last answer short.
        if closing { return }
        if let protocolError = error as? ProtocolError {
            server.metrics.malformedFrames.increment()
            server.metrics.record(protocolError.opcode, status: protocolError.code.status, nanoseconds: 0)
            logger.notice("closing a connection after a malformed frame", metadata: ["error": "\(protocolError)"])
            failConnection(protocolError.code.status, protocolError.message, opcode: protocolError.opcode, requestID: protocolError.requestID)
            return
        }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        closeNow()
    }

    /// Closes the connection once it has had no traffic and nothing in flight for the idle
    /// timeout; otherwise looks again when the timeout would next expire.
    private func scheduleIdleCheck(in milliseconds: Int) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds))) { [self] in
            guard phase != .closed, !closing else { return }
            let timeoutNanoseconds = UInt64(server.limits.idleTimeoutMilliseconds) * 1_000_000
            let idleNanoseconds = Self.now() - lastActivityNanoseconds
            if idleNanoseconds >= timeoutNanoseconds && inFlightCount == 0 && follows.isEmpty {
                server.metrics.idleClosed.increment()
                logger.debug("closing an idle connection")
                closeNow()
            } else {
                let remaining = idleNanoseconds >= timeoutNanoseconds ? timeoutNanoseconds : timeoutNanoseconds - idleNanoseconds
                scheduleIdleCheck(in: max(1, Int(remaining / 1_000_000)))
            }
        }
    }

    // MARK: Answers

    /// Appends to the output buffer.
    func withOutput(_ body: (inout ByteBuffer) -> Void) {
        body(&output)
    }

    func writeError(_ status: Status, _ message: String, opcode: EngramProtocol.Opcode, requestID: UInt64) {
        withOutput { FrameEncoder.writeError(status, message, opcode: opcode, requestID: requestID, into: &$0) }
    }

    func flushOutput() {
        guard output.readableBytes > 0, phase != .closed else { return }
        lastActivityNanoseconds = Self.now()
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
        // A buffer that grew for a large answer is not kept: idle connections stay small.
        if output.capacity > Self.outputRetainedBytesMax {
            output = context.channel.allocator.buffer(capacity: 4096)
        } else {
            output.clear()
        }
    }

    /// Called by the mailbox after it answered a batch of writes.
    func flushAfterDrain() {
        dirtyInMailbox = false
        guard phase != .closed else { return }
        resumeDecoding()
        flushOutput()
        updateReadPause()
        closeIfDrained()
    }

    func markDirty() {
        if !dirtyInMailbox {
            dirtyInMailbox = true
            mailbox.markDirty(self)
        }
    }

    // MARK: Closing

    /// Answers with a framing or authentication error, then closes once the answer is written.
    func failConnection(_ status: Status, _ message: String, opcode: EngramProtocol.Opcode, requestID: UInt64) {
        guard !closing, phase != .closed else { return }
        writeError(status, message, opcode: opcode, requestID: requestID)
        closeAfterWriting()
    }

    /// Flushes every answer, then closes the output side and waits for the client to close
    /// (or `closeLingerMilliseconds`) before closing the socket. Closing a socket with unread
    /// input makes the kernel send a reset, which can destroy answers the client has not read
    /// yet; reading on until the client's end of file avoids that. Input read now is discarded.
    func closeAfterWriting() {
        guard !closing, phase != .closed else { return }
        closing = true
        let buffer = output
        output = ByteBuffer()
        let linger = TimeAmount.milliseconds(Int64(server.limits.closeLingerMilliseconds))
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { [self] _ in
            guard phase != .closed else { return }
            context.close(mode: .output, promise: nil)
            discardingInput = true
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
            context.eventLoop.assumeIsolated().scheduleTask(in: linger) { [self] in closeNow() }
        }
    }

    func closeNow() {
        guard phase != .closed, !closedByServer else { return }
        closedByServer = true
        closing = true
        context.close(promise: nil)
    }

    /// Closes once nothing is in flight, when the client half-closed or the server is stopping.
    func closeIfDrained() {
        guard inFlightCount == 0, inputClosed || phase == .goingAway else { return }
        // Whole frames still waiting to be decoded are answered first (going away drops them).
        guard cumulation == nil || phase == .goingAway else { return }
        closeAfterWriting()
    }

    /// Shutdown: stop reading, tell the client how many requests were read, finish them, close.
    func beginGoingAway() {
        guard phase == .awaitingHello || phase == .ready else { return }
        endAllFollows { follow in .failure(.shuttingDown, message: "the server is shutting down; follow again from position \(follow.position)") }
        phase = .goingAway
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        withOutput { buffer in
            FrameEncoder.writeFrame(into: &buffer, opcode: .goingAway, requestID: 0) { Response.goingAway(requestsRead: requestsRead).encodeBody(into: &$0) }
        }
        flushOutput()
        closeIfDrained()
    }
}
