
/// The single writer: drains the bounded queue in batches, applies each batch in one LMDB write
/// transaction and one commit-log record, syncs the log once, commits LMDB, and only then
/// completes every request in the batch.
///
/// Threads: `submit` is called from any thread; everything else runs on the writer's own OS
/// thread, which owns the commit log, the checkpointer and the version counter. Completions are
/// called on the writer thread and must not block.
final class GroupCommitWriter: @unchecked Sendable {
    let environment: LMDBEnvironment
    let tables: Tables
    let limits: Limits
    let eventHandler: (@Sendable (StoreEvent) -> Void)?
    /// Whose long-term cache entries a committed batch invalidates.
    let hotTier: HotTier
    let episodicLog: EpisodicLog
    /// Erase markers and the lifecycle's batch hooks (docs/LIFECYCLE.md).
    let lifecycle: LifecycleState

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
    private let checkpointer: Checkpointer
    private var lastAppliedLSN: UInt64
    private var versionCounter: UInt64
    private var payload = ByteWriter(capacity: 1 << 16)
    /// The batch's changed long-term keys; moved into each batch's context so its capacity is reused.
    private var changedLongTermKeys: [(namespace: Namespace, key: [UInt8])] = []
    private var oldestUnsyncedAcknowledgementNanoseconds: UInt64?

    let statistics = Lock(StoreStatistics())
    private let writeback: WritebackKicker

    init(environment: LMDBEnvironment, tables: Tables, limits: Limits, log: CommitLog, checkpointer: Checkpointer, lastAppliedLSN: UInt64, versionCounter: UInt64, hotTier: HotTier, episodicLog: EpisodicLog, lifecycle: LifecycleState, eventHandler: (@Sendable (StoreEvent) -> Void)?) {
        self.lifecycle = lifecycle
        self.environment = environment
        self.tables = tables
        self.limits = limits
        self.log = log
        self.checkpointer = checkpointer
        self.lastAppliedLSN = lastAppliedLSN
        self.versionCounter = versionCounter
        self.hotTier = hotTier
        self.eventHandler = eventHandler
        self.episodicLog = episodicLog
        self.queue = WriterQueue(capacity: limits.writerQueueDepthMax)
        self.writeback = WritebackKicker(descriptor: environment.fileDescriptor, intervalMilliseconds: limits.writebackIntervalMilliseconds)
        statistics.withLock {
            $0.lastAppliedLSN = lastAppliedLSN
            $0.lastCheckpointLSN = checkpointer.lastCheckpointLSN
        }
    }

    func start() {
        writeback.start()
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

    /// Stops taking writes, lets the writer finish every queued one, checkpoints, and returns when
    /// the writer thread has ended.
    func close() {
        lock.withLock {
            accepting = false
            lock.broadcast()
        }
        lock.withLock {
            while !threadFinished { lock.wait(untilNanoseconds: nil) }
        }
        writeback.stop()
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
        writeback.stop()
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

    /// The next time the writer must wake without work: to sync `applied` writes, or to checkpoint.
    private func housekeepingDeadline() -> UInt64? {
        var deadline: UInt64? = nil
        if let oldest = oldestUnsyncedAcknowledgementNanoseconds {
            deadline = oldest + UInt64(limits.appliedSyncDelayMilliseconds) * 1_000_000
        }
        if log.bytesSinceCheckpoint > 0 {
            let due = checkpointer.lastCheckpointNanoseconds + UInt64(limits.checkpointIntervalMilliseconds) * 1_000_000
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
        let intervalDue = now >= checkpointer.lastCheckpointNanoseconds + UInt64(limits.checkpointIntervalMilliseconds) * 1_000_000
        if log.bytesSinceCheckpoint >= limits.checkpointLogBytes
            || (intervalDue && log.bytesSinceCheckpoint > 0)
            || (log.bytesSinceCheckpoint > 0 && checkpointer.growthBytesSinceCheckpoint >= limits.checkpointLMDBGrowthBytes) {
            checkpoint()
        }
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

    private func checkpoint() {
        do {
            try checkpointer.checkpoint(lsn: lastAppliedLSN, log: log)
            oldestUnsyncedAcknowledgementNanoseconds = nil
            let lsn = lastAppliedLSN
            statistics.withLock {
                $0.checkpointCount += 1
                $0.lastCheckpointLSN = lsn
            }
        } catch {
            eventHandler?(.checkpointFailed(error))
        }
    }

    private func finish() {
        let skipCheckpoint = lock.withLock { failure != nil || abandoned }
        if !skipCheckpoint { checkpoint() }
        checkpointer.releasePin()
        log.close()
        episodicLog.close()
        lock.withLock {
            threadFinished = true
            lock.broadcast()
        }
    }

    /// After an error that leaves a batch's durability unknown, refuse further writes: the log
    /// and LMDB may disagree until a restart replays the log.
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
        let transaction: LMDBTransaction
        do {
            transaction = try environment.beginWrite()
        } catch {
            for write in batch { write.fail(error) }
            return
        }
        let lsn = log.lastLSN + 1
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
        for (index, write) in batch.enumerated() {
            context.commandChangedState = false
            let mark = context.payload!.count
            do {
                try write.execute(in: &context)
            } catch {
                if context.commandChangedState {
                    transaction.abort()
                    context.notifyAborted()
                    failAll(batch, EngramError(error.code, "the batch of \(batch.count) writes was not applied: \(error.message)", errno: error.errno))
                    return
                }
                errors[index] = error
                context.payload!.truncate(to: mark)
            }
        }
        guard context.operationCount > 0 else {
            transaction.abort()
            context.notifyAborted()
            if context.checkpointRequested { retireLogAndCheckpoint() }
            complete(batch, errors)
            return
        }
        do {
            try transaction.writeUInt64(tables.meta, MetaKey.appliedLSN, lsn)
            try transaction.writeUInt64(tables.meta, MetaKey.versionCounter, context.versionCounter)
            BatchPayload.patchOperationCount(context.operationCount, in: &context.payload!)
            try log.append(kind: .batch, buffer: &context.payload!)
        } catch {
            transaction.abort()
            context.notifyAborted()
            failAll(batch, error)
            return
        }
        let durable = batch.contains { $0.durability == .durable }
        if durable {
            do {
                try log.sync()
            } catch {
                transaction.abort()
                context.notifyAborted()
                stopWrites(after: error)
                failAll(batch, EngramError(error.code, "syncing the commit log failed, so whether this batch is durable is unknown; the store takes no more writes until it restarts: \(error.message)", errno: error.errno))
                return
            }
        }
        do {
            try transaction.commit()
        } catch {
            context.notifyAborted()
            rollBack(lsn: lsn, after: error)
            failAll(batch, error)
            return
        }
        // The batch is durable (or applied) and committed whatever the participants' files do; a
        // participant that cannot finish its after-commit work stops further writes.
        if let failure = context.notifyCommitted() { stopWrites(after: failure) }
        // LMDB holds the batch now; drop the cache entries it made stale before any request of
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
        if context.checkpointRequested { retireLogAndCheckpoint() }
        complete(batch, errors)
    }

    /// A checkpoint a command asked for (an erase): the log's active segment is retired first, so
    /// the checkpoint removes every segment, and no log file keeps a record written before it. A
    /// failure is reported as any checkpoint's; the asking command sees that
    /// `statistics.lastCheckpointLSN` did not reach its batch.
    private func retireLogAndCheckpoint() {
        do {
            try log.retireActiveSegment()
        } catch {
            eventHandler?(.checkpointFailed(error))
            return
        }
        checkpoint()
    }

    /// LMDB refused the commit after the log took the batch: log that the batch is void, so replay
    /// skips it. If even that fails, the log and LMDB disagree and writes stop until a restart.
    private func rollBack(lsn: UInt64, after error: EngramError) {
        var record = ByteWriter(capacity: CommitLogFormat.headerBytes + 8)
        record.reserve(CommitLogFormat.headerBytes)
        record.write(lsn)
        do {
            try log.append(kind: .rollback, buffer: &record)
            try log.sync()
        } catch {
            stopWrites(after: EngramError(error.code, "a commit failed and its rollback could not be logged: \(error.message)", errno: error.errno))
        }
    }

    private func failAll(_ batch: [PendingWrite], _ error: EngramError) {
        statistics.withLock {
            $0.failedWriteCount += UInt64(batch.count)
            $0.writeCount += UInt64(batch.count)
        }
        for write in batch { write.fail(error) }
    }

    private func complete(_ batch: [PendingWrite], _ errors: [EngramError?]) {
        for (index, write) in batch.enumerated() {
            if let error = errors[index] { write.fail(error) } else { write.succeed() }
        }
    }
}
