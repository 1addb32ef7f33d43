import EngramProtocol
import EngramStorage
import NIOCore

/// The snapshot opcodes (docs/PROTOCOL.md, "Snapshots and export"): open, read a chunk, close.
/// Everything runs on the connection's event loop; a chunk is built straight into the output
/// buffer, and pipelined reads wait behind the connection's flow control like any request.
extension ConnectionHandler {
    /// Decodes and runs one snapshot request. Called from `handle` before the generic decoding.
    func handleSnapshot(_ frame: Frame, receivedNanoseconds start: UInt64) {
        let header = frame.header
        if header.flags.durability != nil {
            errorCaught(context: context, error: ProtocolError(.reservedBits, "durability flags on \(header.opcode.name), which does not write", requestID: header.requestID, opcode: header.opcode))
            return
        }
        guard phase == .ready else {
            answerError(.unauthenticated, "say hello with a token before \(header.opcode.name)", header)
            return
        }
        var reader = BodyReader(frame.body, opcode: header.opcode, requestID: header.requestID)
        do {
            switch header.opcode {
            case .snapshotOpen: openSnapshot(try SnapshotOpenRequest.decode(&reader), header, start)
            case .snapshotRead: readSnapshot(try SnapshotReadRequest.decode(&reader), header, start)
            case .snapshotClose: closeSnapshot(try SnapshotCloseRequest.decode(&reader), header, start)
            default: answerError(.unknownOpcode, "opcode 0x\(String(header.opcode.rawValue, radix: 16)) is not one this server knows", header)
            }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    /// The store opens a snapshot after a checkpoint of every published batch (docs/STORAGE.md,
    /// "Checkpoints"), so the answer comes later, through the mailbox, like a write's.
    private func openSnapshot(_ request: SnapshotOpenRequest, _ header: FrameHeader, _ start: UInt64) {
        guard let namespace = authorize(request.namespace, .read, header, start) else { return }
        let completion = completionSink(header, start)
        inFlightCount += 1
        server.store.openSnapshot { result in
            switch result {
            case .success(let snapshot): completion(.snapshotOpened(SnapshotOpening(snapshot: snapshot, namespace: namespace)))
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    /// On the event loop, from the mailbox: the snapshot is open; registers it and answers.
    func finishSnapshotOpen(_ opening: SnapshotOpening, _ header: FrameHeader, _ start: UInt64) {
        let snapshot = opening.snapshot
        let session = snapshots.add(snapshot, namespace: opening.namespace)
        let holdSeconds = server.store.limits.snapshotHoldSecondsMax
        let id = session.id
        session.expiry = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Int64(holdSeconds))) { [self] in
            if snapshots.close(id, expired: true) {
                logger.notice("closed a snapshot held for snapshotHoldSecondsMax", metadata: ["snapshot": "\(id)", "seconds": "\(holdSeconds)"])
            }
        }
        let position = snapshot.position
        let response = SnapshotOpenResponse(snapshotID: id, lsn: position.lsn, version: position.version, episodicPosition: position.episodicPosition,
                                            holdSecondsMax: UInt32(clamping: holdSeconds), chunkBytesMax: UInt32(server.limits.snapshotChunkBytesMax))
        withOutput { buffer in
            FrameEncoder.writeFrame(into: &buffer, opcode: .snapshotOpen, requestID: header.requestID) { response.encode(into: &$0) }
        }
        server.metrics.record(.snapshotOpen, status: .ok, nanoseconds: Self.now() - start)
    }

    private func readSnapshot(_ request: SnapshotReadRequest, _ header: FrameHeader, _ start: UInt64) {
        guard let session = snapshots[request.snapshotID] else {
            answerSnapshotGone(request.snapshotID, header, start)
            return
        }
        guard let stream = SnapshotStream(rawValue: request.stream) else {
            answerError(.invalidArgument, "stream \(request.stream) is not one this server knows", header, startNanoseconds: start)
            return
        }
        if !stream.takesSince && request.since != 0 {
            answerError(.invalidArgument, "stream \(stream) takes no since; got \(request.since)", header, startNanoseconds: start)
            return
        }
        // Chunk 0 starts (or restarts) a stream; every later read names the next chunk, so a
        // client's pipelined reads are checked to arrive in order.
        var state: SnapshotStreamState
        if request.chunkIndex == 0 {
            state = SnapshotStreamState(stream: stream, since: request.since)
        } else if let current = session.streams[request.stream] {
            guard request.chunkIndex == current.nextChunkIndex else {
                answerError(.invalidArgument, "stream \(stream) is at chunk \(current.nextChunkIndex); the read asks for chunk \(request.chunkIndex)", header, startNanoseconds: start)
                return
            }
            guard request.since == current.since else {
                answerError(.invalidArgument, "stream \(stream) was started with since \(current.since); the read says \(request.since)", header, startNanoseconds: start)
                return
            }
            state = current
        } else {
            answerError(.invalidArgument, "stream \(stream) was not started: read chunk 0 first", header, startNanoseconds: start)
            return
        }
        writeChunk(session, &state, header, start)
    }

    /// Builds the chunk in the output buffer; on an error the partial frame is taken back and the
    /// error answered instead, and the stream stays where it was.
    private func writeChunk(_ session: SnapshotSessions.Session, _ state: inout SnapshotStreamState, _ header: FrameHeader, _ start: UInt64) {
        let frameStart = output.writerIndex
        let lengthIndex = FrameHeader(opcode: .snapshotRead, requestID: header.requestID).write(into: &output)
        let flagsIndex = SnapshotChunk.writeHeader(chunkIndex: state.nextChunkIndex, into: &output)
        var filler = SnapshotChunkFiller(snapshot: session.snapshot, namespace: session.namespace, limits: server.limits)
        var next = state
        do {
            let isEnd = state.isFinished ? true : try filler.fill(&next, into: &output)
            SnapshotChunk.patch(&output, flagsIndex: flagsIndex, isEnd: isEnd, rowCount: filler.rowCount)
            output.setInteger(UInt32(output.writerIndex - frameStart - FrameHeader.byteCount), at: lengthIndex, endianness: .little)
            next.nextChunkIndex += 1
            session.streams[state.stream.rawValue] = next
            server.metrics.record(.snapshotRead, status: .ok, nanoseconds: Self.now() - start)
        } catch {
            output.moveWriterIndex(to: frameStart)
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    private func closeSnapshot(_ request: SnapshotCloseRequest, _ header: FrameHeader, _ start: UInt64) {
        let existed = snapshots.close(request.snapshotID)
        answer(.existed(existed), header, start)
    }

    private func answerSnapshotGone(_ id: UInt64, _ header: FrameHeader, _ start: UInt64) {
        let message = snapshots.wasExpired(id)
            ? "snapshot \(id) was closed after snapshotHoldSecondsMax (\(server.store.limits.snapshotHoldSecondsMax) s)"
            : "no snapshot \(id) is open on this connection"
        answerError(.notFound, message, header, startNanoseconds: start)
    }
}
