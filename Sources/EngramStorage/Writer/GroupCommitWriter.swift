
/// The single writer: drains the bounded queue in batches, applies each batch into the active
/// write buffer and one commit-log record, syncs the log once, publishes the batch to readers, and
/// only then completes every request in it (docs/STORAGE.md, "The write path, per batch"). Between
/// batches it freezes the active buffer when a checkpoint is due and hands it to the checkpoint
/// thread, which applies it to LMDB; no LMDB write is on this thread.
///
/// Threads: `submit` is called from any thread; everything else runs on the writer's own OS
/// thread, which owns the commit log, the active buffer and the version counter. Completions are
/// called on the writer thread (or, for writes that wait for a checkpoint, the checkpoint thread)
/// and must not block.
final class GroupCommitWriter: @unchecked Sendable {
    let tables: Tables
    let limits: Limits
    let eventHandler: (@Sendable (StoreEvent) -> Void)?
    /// Whose long-term cache entries a published batch invalidates.
    let hotTier: HotTier
    let episodicLog: EpisodicLog
    /// Erase markers and the lifecycle's batch hooks (docs/LIFECYCLE.md).
    let lifecycle: LifecycleState
    let views: StoreViews
    let checkpointer: Checkpointer

    // Guarded by `lock`.
    private let lock = ConditionLock()
    private var queue: WriterQueue
    private var accepting = true
    private var threadFinished = false
    private var failure: EngramError?
    /// Set by `abandon()`: the thread exits without syncing or checkpointing, as a killed process.
    private var abandoned = false

    // Writer thread only.
    private let log: CommitLog
    private var lastAppliedLSN: UInt64
    private var versionCounter: UInt64
    private var payload = ByteWriter(capacity: 1 << 16)
    /// The batch's changed long-term keys; moved into each batch's context so its capacity is reused.
    private var changedLongTermKeys: [(namespace: Namespace, key: [UInt8])] = []
    private var oldestUnsyncedAcknowledgementNanoseconds: UInt64?

    let statistics: Lock<StoreStatistics>

    init(tables: Tables, limits: Limits, log: CommitLog, views: StoreViews, checkpointer: Checkpointer, statistics: Lock<StoreStatistics>, lastAppliedLSN: UInt64, versionCounter: UInt64, hotTier: HotTier, episodicLog: EpisodicLog, lifecycle: LifecycleState, eventHandler: (@Sendable (StoreEvent) -> Void)?) {
        self.lifecycle = lifecycle
        self.tables = tables
        self.limits = limits
        self.log = log
        self.views = views
        self.checkpointer = checkpointer
        self.statistics = statistics
        self.lastAppliedLSN = lastAppliedLSN
        self.versionCounter = versionCounter
        self.hotTier = hotTier
        self.eventHandler = eventHandler
        self.episodicLog = episodicLog
        self.queue = WriterQueue(capacity: limits.writerQueueDepthMax)
        statistics.withLock { $0.lastAppliedLSN = lastAppliedLSN }
    }

    func start() {
        checkpointer.start()
        startThread(name: "engram-writer") { [self] in run() }
    }

    /// Queues a write, or throws `.busy` at once when the queue is full and `.closed` when the
    /// store is closing or has stopped taking writes.
    func submit(_ write: PendingWrite) throws(EngramError) {
        let rejection: EngramError? = lock.withLock {
            if let failure { return EngramError(.closed, "the store stopped taking writes after: \(failure)") }
            if !accepting { return EngramError(.closed, "the store is closing") }
            if queue.isFull {
                return EngramError(.busy, "the writer queue is full (\(queue.capacity) writes); retry shortly")
            }
            queue.append(write)
            lock.signal()
            return nil
        }
        if let rejection {
            if rejection.code == .busy { statistics.withLock { $0.busyRejectionCount += 1 } }
            throw rejection
        }
    }

    var queueDepth: Int { lock.withLock { queue.count } }

    /// Stops taking writes, lets the writer finish every queued one, checkpoints everything, and
    /// returns when both threads have ended.
    func close() {
        lock.withLock {
            accepting = false
            lock.broadcast()
        }
        lock.withLock {
            while !threadFinished { lock.wait(untilNanoseconds: nil) }
        }
    }

    /// Stops the writer as `kill -9` would: queued writes are failed, nothing more is synced or
    /// checkpointed. Tests use it to crash a store inside one process.
    func abandon() {
        lock.withLock {
            accepting = false
            abandoned = true
            lock.broadcast()
        }
        lock.withLock {
            while !threadFinished { lock.wait(untilNanoseconds: nil) }
        }
    }

    // MARK: The writer thread

    private func run() {
        var batch: [PendingWrite] = []
        batch.reserveCapacity(limits.batchCountMax)
        while nextBatch(into: &batch) {
            if !batch.isEmpty { process(batch) }
            batch.removeAll(keepingCapacity: true)
            housekeeping()
        }
        finish()
    }

    /// Waits for work; fills `batch` (empty on a housekeeping wake-up). Returns false once the
    /// store is closing and the queue is drained.
    private func nextBatch(into batch: inout [PendingWrite]) -> Bool {
        lock.withLock {
            if abandoned {
                queue.take(into: &batch, countMax: queue.count, bytesMax: Int.max)
                let error = EngramError(.closed, "the store was abandoned")
                for write in batch { write.fail(error) }
                batch.removeAll()
                return false
            }
            while queue.isEmpty {
                if !accepting { return false }
                let deadline = housekeepingDeadline()
                if let deadline, deadline <= monotonicNanoseconds() { return true }
                lock.wait(untilNanoseconds: deadline)
                if queue.isEmpty, let deadline, monotonicNanoseconds() >= deadline { return true }
            }
            queue.take(into: &batch, countMax: limits.batchCountMax, bytesMax: limits.batchBytesMax)
            if limits.batchWaitMicroseconds > 0 && batch.count < limits.batchCountMax {
                let deadline = monotonicNanoseconds() + UInt64(limits.batchWaitMicroseconds) * 1_000
                while batch.count < limits.batchCountMax && accepting && monotonicNanoseconds() < deadline {
                    lock.wait(untilNanoseconds: deadline)
                    queue.take(into: &batch, countMax: limits.batchCountMax, bytesMax: limits.batchBytesMax)
                }
            }
            return true
        }
    }

    /// The next time the writer must wake without work: to sync `applied` writes, or to freeze the
    /// active buffer for a checkpoint.
    private func housekeepingDeadline() -> UInt64? {
        var deadline: UInt64? = nil
        if let oldest = oldestUnsyncedAcknowledgementNanoseconds {
            deadline = oldest + UInt64(limits.appliedSyncDelayMilliseconds) * 1_000_000
        }
        if let first = views.view.active.firstBatchNanoseconds {
            let due = first + UInt64(limits.checkpointIntervalMilliseconds) * 1_000_000
            deadline = min(deadline ?? due, due)
        }
        return deadline
    }

    private func housekeeping() {
        let now = monotonicNanoseconds()
        if let oldest = oldestUnsyncedAcknowledgementNanoseconds,
           now >= oldest + UInt64(limits.appliedSyncDelayMilliseconds) * 1_000_000 {
            syncLogForAppliedWrites()
        }
        if checkpointDue(now: now) { freezeActive(deferred: []) }
        if log.shouldTradeActiveForSpare { tradeActiveSegmentForSpare() }
    }

    /// The active log segment was reserved with `posix_fallocate` (no spare was ready when it was
    /// made) and a spare is ready now: retire it, so the next append rolls onto the spare and its
    /// syncs stop committing the journal. The next checkpoint removes it with the others.
    private func tradeActiveSegmentForSpare() {
        do {
            try log.retireActiveSegment()
        } catch {
            stopWrites(after: error)
        }
    }

    private func checkpointDue(now: UInt64) -> Bool {
        let active = views.view.active
        guard let first = active.firstBatchNanoseconds else { return false }
        return active.byteCount >= limits.writeBufferBytesMax
            || log.bytesSinceCheckpoint >= limits.checkpointLogBytes
            || now >= first + UInt64(limits.checkpointIntervalMilliseconds) * 1_000_000
    }

    private func syncLogForAppliedWrites() {
        do {
            try log.sync()
            oldestUnsyncedAcknowledgementNanoseconds = nil
            statistics.withLock { $0.syncCount += 1 }
        } catch {
            stopWrites(after: error)
        }
    }

    /// Freezes the active buffer and hands it to the checkpoint thread, with `deferred` writes to
    /// complete once it is in LMDB. Every batch in it must be in the synced log first. When the
    /// checkpoint thread has `writeBufferCountMax - 1` frozen buffers already, waits for it
    /// (`waitForRoom`), or gives up when checkpoints are failing: the deferred writes then fail
    /// with the checkpoint's error, and the active buffer goes on growing until one succeeds.
    private func freezeActive(deferred: [PendingWrite], erasing: Bool = false) {
        if let refusal = checkpointer.waitForRoom(countMax: limits.writeBufferCountMax - 1) {
            let error = EngramError(refusal.code, "the checkpoint this write waits for cannot run: \(refusal.message)", errno: refusal.errno)
            for write in deferred { write.fail(error) }
            return
        }
        do {
            try log.sync()
        } catch {
            stopWrites(after: error)
            for write in deferred { write.fail(error) }
            return
        }
        oldestUnsyncedAcknowledgementNanoseconds = nil
        let frozen = views.freezeActive()
        let files = episodicLog.takeFilesForCheckpoint()
        log.resetBytesSinceCheckpoint()
        checkpointer.submit(Checkpointer.Handoff(buffer: frozen, segmentFiles: files, deferred: deferred, erasing: erasing))
    }

    private func finish() {
        let skipCheckpoint = lock.withLock { failure != nil || abandoned }
        if skipCheckpoint {
            checkpointer.abandon()
        } else {
            if !views.view.active.isEmpty { freezeActive(deferred: []) }
            checkpointer.stop()
        }
        log.close()
        episodicLog.close()
        lock.withLock {
            threadFinished = true
            lock.broadcast()
        }
    }

    /// After an error that leaves a batch's durability unknown, refuse further writes: the log
    /// and the buffers may disagree until a restart replays the log.
    private func stopWrites(after error: EngramError) {
        lock.withLock { failure = error }
        eventHandler?(.writesStopped(error))
    }

    // MARK: One batch

    private func process(_ batch: [PendingWrite]) {
        if let failure = lock.withLock({ failure }) {
            let error = EngramError(.closed, "the store stopped taking writes after: \(failure)")
            for write in batch { write.fail(error) }
            return
        }
        if let refusal = checkpointRefusal() {
            failAll(batch, refusal)
            return
        }
        let lsn = log.lastLSN + 1
        do {
            try views.write(lsn: lsn) { (transaction) throws(EngramError) in process(batch, lsn: lsn, transaction: transaction) }
        } catch {
            failAll(batch, error)
        }
    }

    /// From a failed checkpoint until one succeeds, writes are refused with its error
    /// (docs/STORAGE.md, "The durability contract"): LMDB cannot take what they would add, and
    /// taking them anyway would only grow the buffers and the log. Reads go on.
    private func checkpointRefusal() -> EngramError? {
        guard let failure = checkpointer.lastFailure else { return nil }
        return EngramError(failure.code, "the last checkpoint failed, so writes wait for one that succeeds: \(failure.message)", errno: failure.errno)
    }

    private func process(_ batch: [PendingWrite], lsn: UInt64, transaction: StoreTransaction) {
        let buffer = transaction.writeTarget!.buffer
        let batchTime = wallClockMicroseconds()
        payload.removeAll()
        payload.reserve(CommitLogFormat.headerBytes)
        BatchPayload.writeHeader(timeMicroseconds: batchTime, into: &payload)
        // The payload buffer moves into the context for the batch and back after, so its
        // capacity is reused and the context holds the only reference (no copy on write).
        var context = WriteContext(transaction: transaction, tables: tables, limits: limits, batchTimeMicroseconds: batchTime, versionCounter: versionCounter, payload: payload, episodicLog: episodicLog, lifecycle: lifecycle)
        payload = ByteWriter()
        changedLongTermKeys.removeAll(keepingCapacity: true)
        swap(&changedLongTermKeys, &context.changedLongTermKeys)
        defer {
            payload = context.payload ?? ByteWriter()
            swap(&changedLongTermKeys, &context.changedLongTermKeys)
        }

        var errors = [EngramError?](repeating: nil, count: batch.count)
        var waitsForCheckpoint = [Bool](repeating: false, count: batch.count)
        for (index, write) in batch.enumerated() {
            context.commandChangedState = false
            let requestsBefore = context.checkpointRequest
            let mark = context.payload!.count
            do {
                try write.execute(in: &context)
            } catch {
                if context.commandChangedState {
                    abort(buffer, lsn: lsn, context)
                    failAll(batch, EngramError(error.code, "the batch of \(batch.count) writes was not applied: \(error.message)", errno: error.errno))
                    return
                }
                errors[index] = error
                context.payload!.truncate(to: mark)
            }
            waitsForCheckpoint[index] = errors[index] == nil && context.checkpointRequest != requestsBefore
        }
        guard context.operationCount > 0 else {
            abort(buffer, lsn: lsn, context)
            finish(batch, errors: errors, waitsForCheckpoint: waitsForCheckpoint, request: context.checkpointRequest)
            return
        }
        let durable = batch.contains { $0.durability == .durable }
        do {
            try transaction.writeUInt64(tables.meta, MetaKey.appliedLSN, lsn)
            try transaction.writeUInt64(tables.meta, MetaKey.versionCounter, context.versionCounter)
            BatchPayload.patchOperationCount(context.operationCount, in: &context.payload!)
            try log.append(kind: .batch, buffer: &context.payload!)
        } catch {
            abort(buffer, lsn: lsn, context)
            failAll(batch, error)
            return
        }
        if durable {
            do {
                try log.sync()
            } catch {
                abort(buffer, lsn: lsn, context)
                stopWrites(after: error)
                failAll(batch, EngramError(error.code, "syncing the commit log failed, so whether this batch is durable is unknown; the store takes no more writes until it restarts: \(error.message)", errno: error.errno))
                return
            }
        }
        buffer.sealBatch(lsn: lsn, nanoseconds: monotonicNanoseconds())
        views.publish(lsn)
        // The batch is durable (or applied) and published whatever the participants' files do; a
        // participant that cannot finish its after-publish work stops further writes.
        if let failure = context.notifyCommitted() { stopWrites(after: failure) }
        // Readers see the batch now; drop the cache entries it made stale before any request of
        // the batch is acknowledged, so no read after an acknowledgement finds an old value.
        for change in context.changedLongTermKeys {
            hotTier.invalidateLongTerm(namespace: change.namespace, key: change.key)
        }
        lastAppliedLSN = lsn
        versionCounter = context.versionCounter
        if durable {
            oldestUnsyncedAcknowledgementNanoseconds = nil
        } else if oldestUnsyncedAcknowledgementNanoseconds == nil {
            oldestUnsyncedAcknowledgementNanoseconds = monotonicNanoseconds()
        }
        let logBytes = UInt64(context.payload!.count)
        statistics.withLock {
            $0.batchCount += 1
            $0.writeCount += UInt64(batch.count)
            $0.failedWriteCount += UInt64(errors.reduce(0) { $0 + ($1 == nil ? 0 : 1) })
            $0.syncCount += durable ? 1 : 0
            $0.logBytes += logBytes
            $0.lastAppliedLSN = lsn
            $0.largestBatchCount = max($0.largestBatchCount, batch.count)
        }
        finish(batch, errors: errors, waitsForCheckpoint: waitsForCheckpoint, request: context.checkpointRequest)
    }

    /// Takes the batch's versions off the buffer and tells the participants: nothing of it stays.
    private func abort(_ buffer: WriteBuffer, lsn: UInt64, _ context: WriteContext) {
        buffer.undoBatch(lsn: lsn)
        context.notifyAborted()
    }

    /// Completes the batch's writes; those that asked for a checkpoint complete after it.
    private func finish(_ batch: [PendingWrite], errors: [EngramError?], waitsForCheckpoint: [Bool], request: CheckpointRequest?) {
        var deferred: [PendingWrite] = []
        for (index, write) in batch.enumerated() {
            if let error = errors[index] {
                write.fail(error)
            } else if waitsForCheckpoint[index] {
                deferred.append(write)
            } else {
                write.succeed()
            }
        }
        guard let request else { return }
        if request == .retiringCommitLog {
            // An erase: the log's active segment is retired first, so the checkpoint removes every
            // segment, and no log file keeps a record written before it.
            do {
                try log.retireActiveSegment()
            } catch {
                for write in deferred { write.fail(error) }
                return
            }
        }
        freezeActive(deferred: deferred, erasing: request == .retiringCommitLog)
    }

    private func failAll(_ batch: [PendingWrite], _ error: EngramError) {
        statistics.withLock {
            $0.failedWriteCount += UInt64(batch.count)
            $0.writeCount += UInt64(batch.count)
        }
        for write in batch { write.fail(error) }
    }
}
