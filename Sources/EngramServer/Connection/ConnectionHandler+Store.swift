import EngramProtocol
import EngramStorage
import FoundationEssentials
import NIOCore

/// Reads run here on the event loop in an LMDB read transaction; writes go to the group-commit
/// writer and are answered from the mailbox when durable.
extension ConnectionHandler {
    // MARK: Reads

    func longTermGet(_ namespace: Namespace, _ key: [UInt8], _ header: FrameHeader, _ start: UInt64) {
        do {
            // `longTermGet` copies the value once more than `withLongTermValue` would, but it is
            // specialised inside the storage module; the generic entry point, called from here,
            // looks up generic metadata at run time on every call, which costs more.
            guard let stored = try server.store.longTermGet(namespace: namespace, key: key) else {
                answerError(.notFound, "", header, startNanoseconds: start)
                return
            }
            withOutput { buffer in
                FrameEncoder.writeFrame(into: &buffer, opcode: .longTermGet, requestID: header.requestID) { body in
                    body.writeInteger(stored.version, endianness: .little)
                    body.writeInteger(UInt32(stored.bytes.count), endianness: .little)
                    body.writeBytes(stored.bytes)
                }
            }
            server.metrics.record(.longTermGet, status: .ok, nanoseconds: Self.now() - start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func longTermScan(_ namespace: Namespace, _ prefix: [UInt8], _ after: [UInt8], _ limit: UInt32, _ header: FrameHeader, _ start: UInt64) {
        do {
            let page = try server.store.longTermScan(namespace: namespace, prefix: prefix, after: after.isEmpty ? nil : after, limit: Int(limit))
            let entries = page.entries.map { WireEntry(key: $0.key, version: $0.version, value: $0.value) }
            answer(.longTermPage(entries: entries, resumeAfter: page.resumeAfter), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func semanticGet(_ namespace: Namespace, _ id: FactID, _ header: FrameHeader, _ start: UInt64) {
        do {
            guard let stored = try server.store.semanticGet(namespace: namespace, id: UUID(id)) else {
                answerError(.notFound, "", header, startNanoseconds: start)
                return
            }
            answer(.fact(version: stored.version, fact: WireFact(stored.fact)), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    /// Fills a page in chunks of `semanticScanChunkCount` facts, so a page of large facts stops at
    /// the response frame limit without the store reading a thousand of them first.
    func semanticScan(_ namespace: Namespace, _ after: FactID?, _ limit: UInt32, _ header: FrameHeader, _ start: UInt64) {
        guard limit > 0 else {
            answerError(.invalidArgument, "a scan limit must be positive, got 0", header, startNanoseconds: start)
            return
        }
        let countMax = min(Int(limit), server.store.limits.scanCountMax)
        let budget = server.responseFrameBytesMax - FrameHeader.byteCount - 4 - 17
        var facts: [WireStoredFact] = []
        var bytes = 0
        var cursor = after.map { UUID($0) }
        var resume: FactID? = nil
        do {
            scanning: while true {
                let chunk = min(server.limits.semanticScanChunkCount, countMax - facts.count)
                let page = try server.store.semanticScan(namespace: namespace, after: cursor, limit: chunk)
                for stored in page.facts {
                    let fact = WireStoredFact(id: FactID(stored.fact.id), version: stored.version, fact: WireFact(stored.fact))
                    let size = fact.fact.pageEntryByteCount
                    if !facts.isEmpty && bytes + size > budget {
                        resume = facts.last?.id
                        break scanning
                    }
                    facts.append(fact)
                    bytes += size
                }
                guard let next = page.resumeAfter else { break }
                if facts.count == countMax {
                    resume = facts.last?.id
                    break
                }
                cursor = next
            }
            answer(.semanticPage(facts: facts, resumeAfter: resume), header, start)
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    func answerStats(_ header: FrameHeader, _ start: UInt64) {
        let statistics = server.store.statistics
        var values: [Statistic] = [
            Statistic("store.writes", statistics.writeCount),
            Statistic("store.failed_writes", statistics.failedWriteCount),
            Statistic("store.batches", statistics.batchCount),
            Statistic("store.syncs", statistics.syncCount),
            Statistic("store.checkpoints", statistics.checkpointCount),
            Statistic("store.busy_rejections", statistics.busyRejectionCount),
            Statistic("store.log_bytes", statistics.logBytes),
            Statistic("store.queue_depth", UInt64(statistics.queueDepth)),
            Statistic("store.largest_batch", UInt64(statistics.largestBatchCount)),
            Statistic("store.last_applied_lsn", statistics.lastAppliedLSN),
            Statistic("store.last_checkpoint_lsn", statistics.lastCheckpointLSN),
            Statistic("store.checkpoint_microseconds", statistics.checkpointNanoseconds / 1_000),
            Statistic("store.last_checkpoint_microseconds", statistics.lastCheckpointNanoseconds / 1_000),
            Statistic("store.write_buffers", UInt64(statistics.writeBufferCount)),
            Statistic("store.write_buffer_bytes", UInt64(statistics.writeBufferBytes)),
        ]
        if let footprint = try? server.store.footprint() {
            values += [
                Statistic("long_term.entries", footprint.longTermEntryCount),
                Statistic("semantic.entries", footprint.semanticEntryCount),
                Statistic("disk.lmdb_bytes", footprint.lmdbBytes),
                Statistic("disk.commit_log_bytes", footprint.commitLogBytes),
                Statistic("disk.episodic_bytes", footprint.episodicBytes),
            ]
        }
        values.append(Statistic("episodic.next_position", server.store.episodicNextPosition))
        let hot = server.store.hotTier.statistics
        values += [
            Statistic("hot_tier.items", UInt64(hot.itemCount)),
            Statistic("hot_tier.bytes_in_use", UInt64(hot.bytesInUse)),
            Statistic("hot_tier.budget_bytes", UInt64(hot.budgetBytes)),
            Statistic("hot_tier.evictions", hot.evictionCount),
            Statistic("hot_tier.expirations", hot.expirationCount),
            Statistic("long_term_cache.items", UInt64(hot.longTermCache.itemCount)),
            Statistic("long_term_cache.hits", hot.longTermCache.hitCount),
            Statistic("long_term_cache.misses", hot.longTermCache.missCount),
        ]
        values += [
            Statistic("server.connections", UInt64(server.connectionCount.load(ordering: .relaxed))),
            Statistic("server.requests", server.requestCount),
            Statistic("server.follows", UInt64(max(0, server.metrics.followCount.load(ordering: .relaxed)))),
            Statistic("server.follow_buffered_bytes", UInt64(max(0, server.metrics.followBufferedBytes.load(ordering: .relaxed)))),
            Statistic("server.follow_pauses", server.metrics.followPauseCount.load(ordering: .relaxed)),
        ]
        values += server.metrics.lifecycle.statistics.map { Statistic($0.0, $0.1) }
        answer(.stats(values), header, start)
    }

    func answer(_ response: Response, _ header: FrameHeader, _ start: UInt64) {
        withOutput { buffer in
            FrameEncoder.writeFrame(into: &buffer, opcode: header.opcode, requestID: header.requestID) { response.encodeBody(into: &$0) }
        }
        server.metrics.record(header.opcode, status: .ok, nanoseconds: Self.now() - start)
    }

    // MARK: Writes

    func durability(_ header: FrameHeader) -> Durability {
        (header.flags.durability ?? defaultDurability).storage
    }

    func submitVersioned<Command: WriteCommand>(_ command: Command, _ header: FrameHeader, _ start: UInt64) where Command.Outcome == UInt64 {
        let completion = completionSink(header, start)
        submit(header, start) { () throws(EngramError) in
            try server.store.submit(command, durability: durability(header)) { result in
                switch result {
                case .success(let version): completion(.version(version))
                case .failure(let error): completion(.failure(error))
                }
            }
        }
    }

    func submitExisted<Command: WriteCommand>(_ command: Command, _ header: FrameHeader, _ start: UInt64) where Command.Outcome == Bool {
        let completion = completionSink(header, start)
        submit(header, start) { () throws(EngramError) in
            try server.store.submit(command, durability: durability(header)) { result in
                switch result {
                case .success(let existed): completion(.existed(existed))
                case .failure(let error): completion(.failure(error))
                }
            }
        }
    }

    /// Where the writer thread sends the outcome: this event loop's mailbox.
    func completionSink(_ header: FrameHeader, _ start: UInt64) -> @Sendable (WriteCompletion.Outcome) -> Void {
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let mailbox = self.mailbox
        let opcode = header.opcode
        let requestID = header.requestID
        return { outcome in
            mailbox.post(WriteCompletion(connection: connection, opcode: opcode, requestID: requestID, startNanoseconds: start, outcome: outcome))
        }
    }

    /// Counts the write in flight; a write the store refuses at once (a limit, a full queue, a
    /// closed store) is answered at once.
    func submit(_ header: FrameHeader, _ start: UInt64, _ body: () throws(EngramError) -> Void) {
        inFlightCount += 1
        do {
            try body()
        } catch {
            inFlightCount -= 1
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    /// On the event loop, from the mailbox: answers one finished write.
    func completeWrite(_ completion: WriteCompletion) {
        inFlightCount -= 1
        precondition(inFlightCount >= 0, "more write completions than writes submitted on this connection")
        guard phase != .closed else {
            if case .snapshotOpened(let opening) = completion.outcome { opening.snapshot.close() }
            return
        }
        let header = FrameHeader(opcode: completion.opcode, requestID: completion.requestID)
        switch completion.outcome {
        case .version(let version):
            answer(.version(version), header, completion.startNanoseconds)
        case .existed(let existed):
            answer(.existed(existed), header, completion.startNanoseconds)
        case .response(let response):
            answer(response, header, completion.startNanoseconds)
        case .snapshotOpened(let opening):
            finishSnapshotOpen(opening, header, completion.startNanoseconds)
        case .failure(let error):
            answerError(Status(error), error.wireMessage, header, startNanoseconds: completion.startNanoseconds)
        }
        markDirty()
    }
}
