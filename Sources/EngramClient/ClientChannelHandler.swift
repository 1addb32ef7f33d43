import EngramProtocol
import NIOCore

/// A request on its way out: its encoded frame and the promise its answer completes.
struct OutboundRequest {
    let requestID: UInt64
    let frame: ByteBuffer
    let promise: EventLoopPromise<Frame>
    let timeout: TimeAmount
    /// Set for a follow: its frames go to the sink, not to the promise, and have no timeout. The
    /// promise then completes when the request was handed to the socket.
    var stream: FollowSink? = nil
}

/// Matches answers to requests by id on one connection. Lives in the connection's pipeline and
/// runs on its event loop only.
///
/// It numbers requests in the order they are written, so that when the server goes away saying it
/// read N requests, every request numbered past N can be failed at once as `notExecuted`.
final class ClientChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let sequence: UInt64
        let promise: EventLoopPromise<Frame>
        let timeout: Scheduled<Void>
    }

    private let flags: ConnectionFlags
    private var pending: [UInt64: Pending] = [:]
    /// Live follows by request id.
    private var streams: [UInt64: FollowSink] = [:]
    /// A follow's consumer is behind: the socket is not read until it catches up.
    private var readingHeld = false
    private var readPending = false
    /// Kept for `resumeReading`, which arrives from the consumer's task through the event loop.
    private var context: ChannelHandlerContext?
    private var written: UInt64 = 0
    private var goneAway = false
    /// Set once the connection failed: requests written after that were never sent.
    private var closedError: EngramClientError?

    init(flags: ConnectionFlags) {
        self.flags = flags
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        // The write promise says only whether this handler took charge of the request; from here
        // on the request's own promise carries every outcome. A write that never reaches this
        // handler (the channel closed first) fails the write promise, and the sender fails the
        // request with it.
        promise?.succeed()
        if let closedError {
            request.promise.fail(closedError)
            return
        }
        if goneAway {
            request.promise.fail(EngramClientError(.notExecuted, "the server is going away and takes no new requests"))
            return
        }
        written += 1
        let id = request.requestID
        if let stream = request.stream {
            streams[id] = stream
            context.write(wrapOutboundOut(request.frame), promise: nil)
            request.promise.succeed(Frame(header: FrameHeader(opcode: .episodicFollow, requestID: id), body: ByteBuffer()))
            return
        }
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: request.timeout) { [self] in
            guard let entry = pending.removeValue(forKey: id) else { return }
            entry.promise.fail(EngramClientError(.timeout, "no answer within \(request.timeout.nanoseconds / 1_000_000) ms"))
        }
        pending[id] = Pending(sequence: written, promise: request.promise, timeout: timeout)
        context.write(wrapOutboundOut(request.frame), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.header.requestID
        if id == 0 {
            serverFrame(context, frame)
            return
        }
        if let stream = streams[id] {
            if !frame.header.flags.contains(.more) { streams.removeValue(forKey: id) }
            if stream.deliver(frame) { readingHeld = true }
            closeIfDrained(context)
            return
        }
        guard let entry = pending.removeValue(forKey: id) else { return }  // timed out already
        entry.timeout.cancel()
        entry.promise.succeed(frame)
        closeIfDrained(context)
    }

    /// A frame the server sent on its own: going away, or an error that ends the connection.
    private func serverFrame(_ context: ChannelHandlerContext, _ frame: Frame) {
        let response: Response
        do {
            response = try Response.decode(frame)
        } catch {
            failAll(EngramClientError(.protocolViolation, "\(error)"))
            context.close(promise: nil)
            return
        }
        switch response {
        case .goingAway(let requestsRead):
            goneAway = true
            flags.goneAway.store(true, ordering: .relaxed)
            let notRead = pending.filter { $0.value.sequence > requestsRead }
            for (id, entry) in notRead {
                pending.removeValue(forKey: id)
                entry.timeout.cancel()
                entry.promise.fail(EngramClientError(.notExecuted, "the server went away after reading \(requestsRead) requests of this connection"))
            }
            closeIfDrained(context)
        case .failure(let status, let message):
            failAll(EngramClientError(.server(status), message))
            context.close(promise: nil)
        default:
            failAll(EngramClientError(.protocolViolation, "unexpected server frame \(frame.header.opcode)"))
            context.close(promise: nil)
        }
    }

    /// After going away, the client closes once every request read by the server is answered.
    private func closeIfDrained(_ context: ChannelHandlerContext) {
        if goneAway && pending.isEmpty && streams.isEmpty { context.close(promise: nil) }
    }

    func read(context: ChannelHandlerContext) {
        if readingHeld {
            readPending = true
        } else {
            context.read()
        }
    }

    /// A follow's consumer caught up: read the socket again.
    func resumeReading() {
        readingHeld = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    private func failAll(_ error: EngramClientError) {
        if closedError == nil { closedError = EngramClientError(.notExecuted, "the connection is closed, so the request was not sent (\(error))") }
        flags.goneAway.store(true, ordering: .relaxed)
        let sinks = streams
        streams.removeAll()
        for (_, sink) in sinks { sink.fail(error) }
        let entries = pending
        pending.removeAll()
        for (_, entry) in entries {
            entry.timeout.cancel()
            entry.promise.fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(EngramClientError(.connectionClosed, "the connection closed with the request in flight"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(EngramClientError(.protocolViolation, "\(error)"))
        context.close(promise: nil)
    }
}
