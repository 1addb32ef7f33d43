import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// The checkpoint thread: applies frozen write buffers to LMDB in one transaction, publishes a view
/// without them, makes the commit durable at a pace the log's syncs can live beside, records it in
/// the `checkpoint` file, and lets the commit log go up to their last batch (docs/STORAGE.md,
/// "Checkpoints").
///
/// Threads: the writer hands buffers over with `submit` (and waits for room with `waitForRoom`);
/// everything else runs on the checkpoint thread, or on the caller's thread through `runNow` while
/// recovery runs and no thread exists yet. `@unchecked Sendable`: the shared fields are guarded by
/// `lock`; LMDB's write transaction is begun and committed on one thread at a time.
final class Checkpointer: @unchecked Sendable {
    /// What the writer hands over with one frozen buffer.
    struct Handoff {
        let buffer: WriteBuffer
        /// Episodic segment files written by the buffer's batches, to sync before LMDB records
        /// their blocks. `closeAfter`: a sealed segment's handle the writer gave up, closed once
        /// synced.
        let segmentFiles: [(handle: any FileHandle, closeAfter: Bool)]
        /// Writes completed only after this checkpoint commits (an erase's, a snapshot's).
        var deferred: [PendingWrite]
        /// An erase asked for it: the log segments it covers are removed, not kept as spares,
        /// and the spares go too (docs/LIFECYCLE.md, "What erase guarantees").
        var erasing = false
    }

    let environment: LMDBEnvironment
    let tables: [LMDBDatabase]
    let directory: String
    let fileSystem: any FileSystem
    /// LMDB's data file, read-only, outside the injectable file layer (LMDB does its own I/O), for
    /// reading the meta pages back.
    private let dataFile: any FileHandle
    let dataFilePath: String
    let meta: LMDBDatabase
    let views: StoreViews
    /// The log whose covered segments a checkpoint removes; nil while recovery replays it (its
    /// segments are removed by recovery's last checkpoint, after `attach`).
    private var log: CommitLog?
    let limits: Limits
    let statistics: Lock<StoreStatistics>
    let eventHandler: (@Sendable (StoreEvent) -> Void)?

    // Guarded by `lock`.
    private let lock = ConditionLock()
    private var pending: [Handoff] = []
    private var stopping = false
    private var abandoned = false
    private var threadFinished = true
    private var running = false
    /// The last checkpoint's failure, until one succeeds.
    private var failure: EngramError?

    // Checkpoint thread only (or recovery, before the thread starts).
    /// The LMDB transaction the durable `checkpoint` file names: no commit may follow a commit
    /// that no durable file covers yet (docs/STORAGE.md, "Checkpoints": the snapshot the file
    /// names must stay whole).
    private var durableTransactionID: UInt64
    /// `StoreConfiguration.checkpointFailuresAfterCommit`: the tests' simulated failures.
    var failuresAfterCommit = 0

    init(directory: String, fileSystem: any FileSystem, environment: LMDBEnvironment, tables: Tables, views: StoreViews, limits: Limits, statistics: Lock<StoreStatistics>, durableTransactionID: UInt64, eventHandler: (@Sendable (StoreEvent) -> Void)?) throws(EngramError) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.environment = environment
        self.tables = tables.all
        self.meta = tables.meta
        self.views = views
        self.durableTransactionID = durableTransactionID
        self.dataFilePath = Path.join(Path.join(directory, StoreLayout.lmdbDirectory), "data.mdb")
        self.dataFile = try PosixFileSystem().open(dataFilePath, create: false)
        self.limits = limits
        self.statistics = statistics
        self.eventHandler = eventHandler
    }

    deinit {
        dataFile.close()
    }

    /// Gives the checkpoints the log once recovery has read it. Before `start`.
    func attach(log: CommitLog) {
        self.log = log
    }

    func start() {
        lock.withLock { threadFinished = false }
        startThread(name: "engram-checkpoint") { [self] in run() }
    }

    /// Queues a frozen buffer. Writer thread.
    func submit(_ handoff: Handoff) {
        lock.withLock {
            pending.append(handoff)
            lock.broadcast()
        }
    }

    /// Frozen buffers not yet applied, the one being applied included.
    var pendingCount: Int { lock.withLock { pending.count } }

    /// The last checkpoint's failure, while no later one has succeeded.
    var lastFailure: EngramError? { lock.withLock { failure } }

    /// Waits until fewer than `countMax` frozen buffers wait, or a checkpoint has failed (returned,
    /// so the writer can refuse writes with it rather than wait for a retry that may never
    /// succeed). Writer thread.
    func waitForRoom(countMax: Int) -> EngramError? {
        lock.withLock {
            while pending.count >= countMax {
                if let failure { return failure }
                if threadFinished { return EngramError(.closed, "the checkpoint thread has stopped") }
                lock.wait(untilNanoseconds: nil)
            }
            return nil
        }
    }

    /// Applies everything handed over, then ends the thread. For `close`.
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            while !threadFinished { lock.wait(untilNanoseconds: nil) }
        }
    }

    /// Ends the thread without applying what waits, as `kill -9` would. For tests.
    func abandon() {
        lock.withLock {
            stopping = true
            abandoned = true
            lock.broadcast()
            while !threadFinished { lock.wait(untilNanoseconds: nil) }
        }
        let left = lock.withLock { () -> [Handoff] in
            defer { pending.removeAll() }
            return pending
        }
        let error = EngramError(.closed, "the store was abandoned before its checkpoint")
        for handoff in left { for write in handoff.deferred { write.fail(error) } }
    }

    /// Applies everything handed over on the caller's thread. Recovery, before the thread starts.
    func runNow() throws(EngramError) {
        let handoffs = lock.withLock { () -> [Handoff] in
            defer { pending.removeAll() }
            return pending
        }
        guard !handoffs.isEmpty else { return }
        do throws(EngramError) {
            try checkpoint(handoffs)
        } catch {
            for handoff in handoffs { for write in handoff.deferred { write.fail(error) } }
            throw error
        }
    }

    // MARK: The thread

    private func run() {
        prepareSpareSegment()
        var retriedWhileStopping = false
        while let handoffs = nextWork() {
            do throws(EngramError) {
                try checkpoint(handoffs)
                lock.withLock {
                    pending.removeFirst(handoffs.count)
                    failure = nil
                    lock.broadcast()
                }
                prepareSpareSegment()
            } catch {
                eventHandler?(.checkpointFailed(error))
                // The buffers stay queued for the retry; what waited on this checkpoint is told now.
                let deferred = lock.withLock { () -> [PendingWrite] in
                    failure = error
                    var waiting: [PendingWrite] = []
                    for index in 0..<handoffs.count {
                        waiting += pending[index].deferred
                        pending[index].deferred = []
                    }
                    lock.broadcast()
                    return waiting
                }
                let told = EngramError(error.code, "the checkpoint failed: \(error.message)", errno: error.errno)
                for write in deferred { write.fail(told) }
                // A closing store tries once more after the pause, then leaves the rest to the log.
                if lock.withLock({ stopping }) && handoffs.count > 0 && retriedWhileStopping { break }
                if lock.withLock({ stopping }) { retriedWhileStopping = true }
                retryPause()
            }
        }
        lock.withLock {
            threadFinished = true
            lock.broadcast()
        }
    }

    /// Every queued handoff (they are applied in one transaction), or nil when the thread must end.
    private func nextWork() -> [Handoff]? {
        lock.withLock {
            while pending.isEmpty || abandoned {
                if stopping { return nil }
                lock.wait(untilNanoseconds: nil)
            }
            return pending
        }
    }

    /// Keeps a spare log segment ready (`CommitLog.prepareSpare`). A failure costs only speed (the
    /// next roll reserves a new file instead), so it is reported and the thread goes on.
    private func prepareSpareSegment() {
        guard let log, log.spareCount == 0, !lock.withLock({ abandoned }) else { return }
        do throws(EngramError) {
            try log.prepareSpare(pauseMicroseconds: 1_000)
        } catch {
            eventHandler?(.spareSegmentFailed(error))
        }
    }

    private func retryPause() {
        let deadline = monotonicNanoseconds() + UInt64(limits.checkpointRetryMilliseconds) * 1_000_000
        lock.withLock {
            // A stopping store gets one more attempt after the pause, not an endless wait.
            while !abandoned && monotonicNanoseconds() < deadline {
                lock.wait(untilNanoseconds: deadline)
            }
        }
    }

    // MARK: One checkpoint

    /// Steps 2 to 7 of a checkpoint over `handoffs`, oldest first.
    private func checkpoint(_ handoffs: [Handoff]) throws(EngramError) {
        let started = monotonicNanoseconds()
        for handoff in handoffs {
            for file in handoff.segmentFiles { try file.handle.sync() }
        }
        // A commit a failed checkpoint (or recovery's table opening) left without a durable file
        // is made durable before another commit may reuse what it freed.
        if lastCommittedTransactionID != durableTransactionID { try makeDurable() }
        let buffers = handoffs.map(\.buffer)
        let lastLSN = buffers.compactMap(\.lastLSN).max()
        if let lastLSN {
            try environment.write { (transaction) throws(EngramError) in
                for buffer in buffers { try apply(buffer, to: transaction) }
            }
            views.checkpointed(buffers, lmdbTransactionID: lastCommittedTransactionID, checkpointLSN: lastLSN)
            if failuresAfterCommit > 0 {
                failuresAfterCommit -= 1
                throw EngramError(.io, "a checkpoint failed after its commit (a test's simulated failure)")
            }
            let appliedLSN = try makeDurable()
            precondition(appliedLSN == lastLSN, "a checkpoint through LSN \(lastLSN) left applied_lsn \(appliedLSN) in LMDB")
            try log?.removeSegments(coveredBy: lastLSN, erasing: handoffs.contains { $0.erasing })
        } else {
            let view = views.view
            views.checkpointed(buffers, lmdbTransactionID: view.lmdbTransactionID, checkpointLSN: view.checkpointLSN)
        }
        for handoff in handoffs {
            for file in handoff.segmentFiles where file.closeAfter { file.handle.close() }
        }
        let elapsed = monotonicNanoseconds() - started
        let checkpointLSN = views.view.checkpointLSN
        statistics.withLock {
            $0.checkpointCount += 1
            $0.lastCheckpointLSN = checkpointLSN
            $0.lastCheckpointNanoseconds = elapsed
            $0.checkpointNanoseconds += elapsed
        }
        for handoff in handoffs { for write in handoff.deferred { write.succeed() } }
    }

    /// LMDB's last committed transaction (only this thread commits).
    private var lastCommittedTransactionID: UInt64 { UInt64(environment.info.me_last_txnid) }

    /// Makes LMDB's last commit durable and records it in the `checkpoint` file (steps 5 and 6):
    /// the paced writeback, `fdatasync` of the data file, the meta pages read back and checked,
    /// the file written through a synced temporary one and a rename. Returns the LSN it holds.
    @discardableResult
    private func makeDurable() throws(EngramError) -> UInt64 {
        let transactionID = lastCommittedTransactionID
        let appliedLSN = try environment.read { (transaction) throws(EngramError) in try transaction.readUInt64(meta, MetaKey.appliedLSN) } ?? 0
        try writeBackPaced()
        try environment.sync()
        let pageBytes = environment.pageBytes
        let metaPages = try dataFile.read(byteCount: pageBytes * 2, at: 0)
        guard metaPages.count == pageBytes * 2 else {
            throw EngramError.corrupt("LMDB data file is shorter than its two meta pages", file: dataFilePath, offset: 0)
        }
        let checkpoint = Checkpoint(lsn: appliedLSN, lmdbTransaction: transactionID, pageBytes: pageBytes, metaPages: metaPages)
        try checkpoint.validateMetaPages(file: dataFilePath)
        try CheckpointFile.write(checkpoint, directory: directory, fileSystem: fileSystem)
        durableTransactionID = transactionID
        return appliedLSN
    }

    /// Bytes of the data file written back in one step of the paced writeback.
    /// 256 KiB: under a millisecond of this disk's bandwidth, so a log sync that meets a window's
    /// writes waits less than that for them.
    static let writebackWindowBytes = 256 << 10

    /// Writes the data file's dirty pages back a window at a time, pausing after each window that
    /// had pages for as long as they took (at most `checkpointWritebackPauseMicrosecondsMax`), so
    /// the log's syncs in the meantime each carry a little of it instead of one waiting for all
    /// of it. No pauses while the writer may be waiting for room, or while the store closes.
    private func writeBackPaced() throws(EngramError) {
        let descriptor = environment.fileDescriptor
        let usedBytes = (environment.info.me_last_pgno + 1) * environment.pageBytes
        let pauseMax = UInt64(limits.checkpointWritebackPauseMicrosecondsMax)
        var offset = 0
        while offset < usedBytes {
            let urgent = lock.withLock { stopping || pending.count >= limits.writeBufferCountMax - 1 }
            let before = monotonicNanoseconds()
            let code = engram_write_back(descriptor, Int64(offset), Int64(Self.writebackWindowBytes))
            if code != 0 { throw EngramError.system("sync_file_range of LMDB's data file", errno: code, file: dataFilePath) }
            let tookMicroseconds = (monotonicNanoseconds() - before) / 1_000
            // A window with nothing dirty returns in a few microseconds: no pause for it.
            if !urgent && pauseMax > 0 && tookMicroseconds > 20 { usleep(UInt32(min(tookMicroseconds, pauseMax))) }
            offset += Self.writebackWindowBytes
        }
    }

    /// Puts every key's newest version of `buffer` into LMDB: a value, or a delete.
    private func apply(_ buffer: WriteBuffer, to transaction: LMDBTransaction) throws(EngramError) {
        for table in tables {
            var node = buffer.firstNode(table: table)
            while let current = node {
                if let version = current.newestVersion {
                    if version.isTombstone {
                        try transaction.delete(table, current.key)
                    } else {
                        try transaction.put(table, current.key, version.value)
                    }
                }
                node = current.next(0)
            }
        }
    }
}
