import Synchronization

/// What readers see: the write buffers not yet in LMDB and LMDB's state after the last checkpoint
/// (docs/STORAGE.md, "Write buffers"). Immutable; a new one is published when the writer freezes a
/// buffer and when a checkpoint commits.
final class StoreView: Sendable {
    /// Newest first; the first is the active buffer.
    let buffers: [WriteBuffer]
    /// LMDB's last committed transaction when the view was published.
    let lmdbTransactionID: UInt64
    /// The LSN LMDB holds at that transaction (`applied_lsn`).
    let checkpointLSN: UInt64

    init(buffers: [WriteBuffer], lmdbTransactionID: UInt64, checkpointLSN: UInt64) {
        self.buffers = buffers
        self.lmdbTransactionID = lmdbTransactionID
        self.checkpointLSN = checkpointLSN
    }

    var active: WriteBuffer { buffers[0] }
}

/// Publishes views and the published LSN, and begins transactions on them.
///
/// Threads: `read` from any thread; `publish` and `freeze` from the writer thread (or recovery);
/// `checkpointed` from the checkpoint thread. The view is swapped under a mutex held for a pointer
/// copy; the published LSN is an atomic.
final class StoreViews: @unchecked Sendable {
    let environment: LMDBEnvironment
    let meta: LMDBDatabase
    private let current: Lock<StoreView>
    private let published: Atomic<UInt64>
    private let bufferSequence = Atomic<UInt64>(0)

    init(environment: LMDBEnvironment, meta: LMDBDatabase, checkpointLSN: UInt64) {
        self.environment = environment
        self.meta = meta
        self.published = Atomic(checkpointLSN)
        let first = WriteBuffer(sequence: 1)
        bufferSequence.store(1, ordering: .relaxed)
        current = Lock(StoreView(buffers: [first], lmdbTransactionID: UInt64(environment.info.me_last_txnid), checkpointLSN: checkpointLSN))
    }

    var view: StoreView { current.withLock { $0 } }
    var publishedLSN: UInt64 { published.load(ordering: .acquiring) }

    /// Runs `body` in a consistent read: the published LSN, then the view, then an LMDB read
    /// transaction, in that order (the argument is in docs/STORAGE.md, "Write buffers").
    func read<Result>(_ body: (StoreTransaction) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let publishedLSN = published.load(ordering: .acquiring)
        let view = current.withLock { $0 }
        return try environment.read { (lmdb) throws(EngramError) -> Result in
            var bound = max(publishedLSN, view.checkpointLSN)
            if lmdb.id != view.lmdbTransactionID {
                // A checkpoint committed after the view was loaded: LMDB may hold batches past the
                // published LSN, so read as of LMDB's own.
                bound = max(bound, try lmdb.readUInt64(meta, MetaKey.appliedLSN) ?? 0)
            }
            return try body(StoreTransaction(lmdb: lmdb, buffers: view.buffers, bound: bound, snapshotLSN: bound, writeTarget: nil))
        }
    }

    /// Runs `body` in the writer's transaction for the batch at `lsn`: every buffer, everything in
    /// them, writes into the active buffer.
    func write<Result>(lsn: UInt64, _ body: (StoreTransaction) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let view = current.withLock { $0 }
        return try environment.read { (lmdb) throws(EngramError) -> Result in
            try body(StoreTransaction(lmdb: lmdb, buffers: view.buffers, bound: .max, snapshotLSN: lsn, writeTarget: .init(buffer: view.active, lsn: lsn)))
        }
    }

    /// Makes every batch up to `lsn` visible to readers. Writer thread.
    func publish(_ lsn: UInt64) {
        precondition(lsn >= published.load(ordering: .relaxed), "publishing LSN \(lsn) after \(published.load(ordering: .relaxed))")
        published.store(lsn, ordering: .releasing)
    }

    /// Freezes the active buffer and publishes a view with a new, empty one in front. Writer thread,
    /// between batches. Returns the frozen buffer.
    func freezeActive() -> WriteBuffer {
        let sequence = bufferSequence.add(1, ordering: .relaxed).newValue
        let fresh = WriteBuffer(sequence: sequence)
        return current.withLock { view in
            let frozen = view.active
            frozen.freeze()
            view = StoreView(buffers: [fresh] + view.buffers, lmdbTransactionID: view.lmdbTransactionID, checkpointLSN: view.checkpointLSN)
            return frozen
        }
    }

    /// A checkpoint applied `applied` (frozen buffers) and committed LMDB at `lmdbTransactionID`,
    /// which holds every batch up to `checkpointLSN`: publishes a view without them. Checkpoint
    /// thread (or recovery).
    func checkpointed(_ applied: [WriteBuffer], lmdbTransactionID: UInt64, checkpointLSN: UInt64) {
        current.withLock { view in
            let remaining = view.buffers.filter { buffer in !applied.contains { $0 === buffer } }
            precondition(!remaining.isEmpty && !remaining[0].isFrozen, "a checkpoint removed the active write buffer")
            view = StoreView(buffers: remaining, lmdbTransactionID: lmdbTransactionID, checkpointLSN: checkpointLSN)
        }
    }

    /// Bytes and count of the buffers in the current view.
    var bufferStatistics: (count: Int, byteCount: Int) {
        let view = self.view
        return (view.buffers.count, view.buffers.reduce(0) { $0 + $1.byteCount })
    }
}
