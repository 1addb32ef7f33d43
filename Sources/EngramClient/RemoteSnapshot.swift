import EngramProtocol
import NIOCore

/// A snapshot the server holds open for one connection (docs/PROTOCOL.md, "Snapshots and
/// export"): its position, and its streams read chunk by chunk.
///
/// `Sendable`: any task may read it, but one stream is read by one reader at a time (a stream's
/// chunks are numbered and the server checks their order). Close it with `close()`; closing the
/// connection closes it too, and the server closes it after `holdSecondsMax` in any case.
public final class RemoteSnapshot: Sendable {
    public let connection: EngramConnection
    public let info: SnapshotOpenResponse

    init(connection: EngramConnection, info: SnapshotOpenResponse) {
        self.connection = connection
        self.info = info
    }

    /// A reader of one stream that keeps `prefetchCount` chunk reads in flight, so the server
    /// builds the next chunks while the caller works on this one.
    public func stream(_ stream: SnapshotStream, since: UInt64 = 0, prefetchCount: Int = 4) -> SnapshotStreamReader {
        precondition(prefetchCount > 0, "prefetchCount must be positive, got \(prefetchCount)")
        return SnapshotStreamReader(snapshot: self, stream: stream, since: since, prefetchCount: prefetchCount)
    }

    /// Asks the server to end the snapshot; returns whether it was still open.
    @discardableResult
    public func close() async throws(EngramClientError) -> Bool {
        let request = SnapshotCloseRequest(snapshotID: info.snapshotID)
        let frame = try await connection.awaitFrame(connection.issue(.snapshotClose) { request.encode(into: &$0) })
        var reader = try EngramConnection.bodyReader(frame)
        do {
            return try reader.readFlag("existed")
        } catch {
            throw EngramClientError(.protocolViolation, "\(error)")
        }
    }
}

/// Reads one stream of a `RemoteSnapshot` in order. Not shared between tasks.
public struct SnapshotStreamReader {
    let snapshot: RemoteSnapshot
    public let stream: SnapshotStream
    public let since: UInt64
    let prefetchCount: Int
    private var pending: [EventLoopFuture<Frame>] = []
    private var nextIndexToRequest: UInt32 = 0
    private var nextIndexExpected: UInt32 = 0
    private var ended = false

    init(snapshot: RemoteSnapshot, stream: SnapshotStream, since: UInt64, prefetchCount: Int) {
        self.snapshot = snapshot
        self.stream = stream
        self.since = since
        self.prefetchCount = prefetchCount
    }

    /// The next chunk, or nil after the one that ended the stream. A chunk may hold no rows and
    /// still not be the last (the server looked at its bound of entries and found none to send).
    public mutating func next() async throws(EngramClientError) -> SnapshotChunk? {
        guard !ended else { return nil }
        while pending.count < prefetchCount {
            let request = SnapshotReadRequest(snapshotID: snapshot.info.snapshotID, stream: stream, since: since, chunkIndex: nextIndexToRequest)
            pending.append(snapshot.connection.issue(.snapshotRead) { request.encode(into: &$0) })
            nextIndexToRequest += 1
        }
        let future = pending.removeFirst()
        let frame = try await snapshot.connection.awaitFrame(future)
        var reader = try EngramConnection.bodyReader(frame)
        let chunk: SnapshotChunk
        do {
            chunk = try SnapshotChunk.decode(&reader)
        } catch {
            throw EngramClientError(.protocolViolation, "\(error)")
        }
        guard chunk.chunkIndex == nextIndexExpected else {
            throw EngramClientError(.protocolViolation, "stream \(stream) answered chunk \(chunk.chunkIndex) where \(nextIndexExpected) was due")
        }
        nextIndexExpected += 1
        if chunk.isEnd {
            // The reads already sent are answered with empty end chunks; nothing waits for them.
            ended = true
            pending.removeAll()
        }
        return chunk
    }
}

extension EngramConnection {
    /// Opens a snapshot of `namespace`; needs a read grant on it.
    public func openSnapshot(namespace: String) async throws(EngramClientError) -> RemoteSnapshot {
        let request = SnapshotOpenRequest(namespace: namespace)
        let frame = try await self.awaitFrame(issue(.snapshotOpen) { request.encode(into: &$0) })
        var reader = try Self.bodyReader(frame)
        do {
            return RemoteSnapshot(connection: self, info: try SnapshotOpenResponse.decode(&reader))
        } catch {
            throw EngramClientError(.protocolViolation, "\(error)")
        }
    }

    /// Writes one request frame whose body `body` encodes and returns its answer's future, without
    /// waiting: callers pipeline by issuing several before they await.
    func issue(_ opcode: Opcode, body: (inout ByteBuffer) -> Void) -> EventLoopFuture<Frame> {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        var buffer = channel.allocator.buffer(capacity: 64)
        FrameEncoder.writeFrame(into: &buffer, opcode: opcode, requestID: id, body: body)
        let promise = channel.eventLoop.makePromise(of: Frame.self)
        channel.writeAndFlush(OutboundRequest(requestID: id, frame: buffer, promise: promise, timeout: requestTimeout)).whenFailure { _ in
            promise.fail(EngramClientError(.notExecuted, "the connection was closed before the request was sent"))
        }
        return promise.futureResult
    }

    func awaitFrame(_ future: EventLoopFuture<Frame>) async throws(EngramClientError) -> Frame {
        try await PendingResponse.frame(of: future)
    }

    /// A reader over an answer's body; a non-zero status is thrown with its message.
    static func bodyReader(_ frame: Frame) throws(EngramClientError) -> BodyReader {
        var reader = BodyReader(frame.body, opcode: frame.header.opcode, requestID: frame.header.requestID)
        guard frame.header.status == .ok else {
            let message = reader.remaining == 0 ? "" : ((try? ErrorBody.decode(&reader))?.message ?? "")
            throw EngramClientError(.server(frame.header.status), message)
        }
        return reader
    }
}
