/// How a store is opened. Every field has a default that works out of the box.
public struct StoreConfiguration: Sendable {
    /// The data directory; created if missing. One process at a time may open it.
    public var directory: String
    /// Every bound; checked with `Limits.validate()` at open.
    public var limits: Limits
    /// The file layer for the commit log and checkpoints; tests put a fault-injecting one here.
    public var fileSystem: any FileSystem
    /// Receives notable events (a tail cut at recovery, a failed checkpoint). Called on the thread
    /// where the event happened; keep it short.
    public var eventHandler: (@Sendable (StoreEvent) -> Void)?
    /// The hot tier's time, for TTLs; tests put a `HotTierManualClock` here.
    public var hotTierClock: any HotTierClock
    /// For the recovery tests: stop replaying after this many log records and end the open as a
    /// `kill -9` would at that moment (no checkpoint, LMDB's pages left as they are), throwing
    /// `.closed`. A crash in the middle of recovery must leave a store that the next open recovers.
    var replayInterruptionRecordCount: Int? = nil
    /// For the recovery tests: this many checkpoints fail right after their LMDB commit, before
    /// the data file is synced and the checkpoint file written, as an I/O error there would.
    var checkpointFailuresAfterCommit = 0

    public init(directory: String, limits: Limits = .default, fileSystem: any FileSystem = PosixFileSystem(), eventHandler: (@Sendable (StoreEvent) -> Void)? = nil, hotTierClock: any HotTierClock = HotTierCoarseClock()) {
        self.directory = directory
        self.limits = limits
        self.fileSystem = fileSystem
        self.eventHandler = eventHandler
        self.hotTierClock = hotTierClock
    }
}

/// Something the store did that an operator may want to see in a log.
public enum StoreEvent: Sendable, Equatable {
    /// Open found a torn record at the end of the commit log and cut it; it was never acknowledged.
    case commitLogTailCut(TailCut)
    /// Open replayed this many log records past the checkpoint.
    case recovered(recordsReplayed: Int, checkpointLSN: UInt64, lastLSN: UInt64)
    /// A checkpoint failed; LMDB keeps the previous one, the write buffers and the log keep every
    /// write, and the checkpoint thread tries again after `Limits.checkpointRetryMilliseconds`.
    case checkpointFailed(EngramError)
    /// Open found a torn block past the episodic log's checkpointed end and cut it; the log
    /// replay re-appended every acknowledged episode.
    case episodicTailCut(TailCut)
    /// Open found damage in the episodic log's checkpointed part (a missing or short segment, a
    /// bad header); reads of the damaged blocks fail with `.corrupt`.
    case episodicDamage(EngramError)
    /// The store stopped taking writes after an error that leaves a batch's fate unknown (a failed
    /// `fdatasync`). Reads go on; a restart replays the log.
    case writesStopped(EngramError)
    /// Preparing a spare commit-log segment failed; the next roll reserves a new file instead (its
    /// syncs cost a journal commit each until the segment is replaced).
    case spareSegmentFailed(EngramError)
    /// A background consolidation pass failed (docs/LIFECYCLE.md); the next one tries again.
    case consolidationFailed(EngramError)
    /// A consolidation pass (background or on demand) ended with this report.
    case consolidationPassed(ConsolidationReport)
    /// A namespace or lead erase (or `finishPendingErasures`) ended with this report; a pass's
    /// erase steps are in its own report instead.
    case erasureRan(ErasureReport)
}

/// What the store has done since it opened.
public struct StoreStatistics: Sendable, Equatable {
    public var batchCount: UInt64 = 0
    public var writeCount: UInt64 = 0
    public var failedWriteCount: UInt64 = 0
    public var busyRejectionCount: UInt64 = 0
    public var syncCount: UInt64 = 0
    /// Checkpoints that committed (docs/STORAGE.md, "Checkpoints").
    public var checkpointCount: UInt64 = 0
    /// How long the last checkpoint took, and all of them together, in nanoseconds.
    public var lastCheckpointNanoseconds: UInt64 = 0
    public var checkpointNanoseconds: UInt64 = 0
    public var logBytes: UInt64 = 0
    public var queueDepth: Int = 0
    public var lastAppliedLSN: UInt64 = 0
    public var lastCheckpointLSN: UInt64 = 0
    /// The largest batch so far, in requests.
    public var largestBatchCount: Int = 0
    /// Write buffers not yet in LMDB (the active one included) and the memory they hold.
    public var writeBufferCount: Int = 0
    public var writeBufferBytes: Int = 0
}
