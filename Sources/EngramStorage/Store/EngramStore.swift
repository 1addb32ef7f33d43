#if canImport(Glibc)
import Glibc
#endif

/// The storage engine: one data directory, every durable tier, one writer.
///
/// Open it once per process with `open(_:)`; share the instance between threads and tasks. Reads
/// run on the caller's thread in a pooled LMDB read transaction and never wait for the writer.
/// Writes are queued to the group-commit writer and completed when durable (or applied, if asked).
/// `close()` finishes every queued write, checkpoints, and releases the directory.
public final class EngramStore: Sendable {
    public let configuration: StoreConfiguration
    public var limits: Limits { configuration.limits }
    let environment: LMDBEnvironment
    let tables: Tables
    /// The write buffers and LMDB's checkpointed state, as readers see them.
    let views: StoreViews
    let writer: GroupCommitWriter
    /// Short-term memory and the read-through cache of long-term values (docs/HOT_TIER.md),
    /// sized by `Limits.hotTierBytes`. Volatile: empty at every open.
    public let hotTier: HotTier
    private let lockDescriptor: Int32
    /// What open found and did: the checkpoint it started from, the records replayed, a cut tail.
    public let recovery: RecoveryReport
    /// The background consolidation thread, when `Limits.consolidationIntervalMilliseconds` is set.
    private let consolidation: ConsolidationScheduler?
    /// Open snapshots (docs/EXPORT.md), closed before LMDB closes.
    let snapshotRegistry = SnapshotRegistry()

    private init(configuration: StoreConfiguration, environment: LMDBEnvironment, tables: Tables, views: StoreViews, writer: GroupCommitWriter, hotTier: HotTier, lockDescriptor: Int32, recovery: RecoveryReport) {
        self.configuration = configuration
        self.environment = environment
        self.tables = tables
        self.views = views
        self.writer = writer
        self.hotTier = hotTier
        self.lockDescriptor = lockDescriptor
        self.recovery = recovery
        self.consolidation = configuration.limits.consolidationIntervalMilliseconds > 0 ? ConsolidationScheduler() : nil
    }

    /// Opens (creating if needed) the store in `configuration.directory`, recovering from a crash
    /// if there was one. Throws `.busy` if another process has the directory open, `.corrupt` if
    /// acknowledged data cannot be recovered, `.limitsInvalid` for contradictory limits.
    public static func open(_ configuration: StoreConfiguration) throws(EngramError) -> EngramStore {
        try configuration.limits.validate()
        let directory = configuration.directory
        let fileSystem = configuration.fileSystem
        try fileSystem.createDirectory(directory)
        let lockDescriptor = try lockDirectory(directory)
        do throws(EngramError) {
            let hotTier = try HotTier(limits: configuration.limits, clock: configuration.hotTierClock)
            let opened = try StoreRecovery.run(configuration, hotTier: hotTier)
            let store = EngramStore(configuration: configuration, environment: opened.environment, tables: opened.tables, views: opened.views, writer: opened.writer, hotTier: hotTier, lockDescriptor: lockDescriptor, recovery: opened.report)
            opened.writer.start()
            store.consolidation?.start(store, intervalMilliseconds: configuration.limits.consolidationIntervalMilliseconds)
            return store
        } catch {
            Glibc.close(lockDescriptor)
            throw error
        }
    }

    /// Finishes every queued write, takes a final checkpoint, and closes LMDB. Idempotent. Reads
    /// must have ended; writes submitted after this begins fail with `.closed`.
    public func close() {
        consolidation?.stop()
        snapshotRegistry.closeAll()
        writer.close()
        environment.close()
        Glibc.close(lockDescriptor)
    }

    /// Ends the store as `kill -9` would, for tests: no final sync or checkpoint; LMDB keeps its
    /// last checkpoint, the write buffers are lost, and the commit log keeps only what it wrote.
    func simulateCrash() {
        consolidation?.stop()
        snapshotRegistry.closeAll()
        writer.abandon()
        environment.close()
        Glibc.close(lockDescriptor)
    }

    /// How long open waits for another holder of the directory lock to let go: a server restarted
    /// right after `kill -9` may find its predecessor still being torn down by the kernel, and a
    /// child process between fork and exec briefly shares the lock's open file description.
    static let lockWaitMilliseconds = 2_000

    static func lockDirectory(_ directory: String) throws(EngramError) -> Int32 {
        let path = Path.join(directory, StoreLayout.lockFile)
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw .system("cannot open the lock file", errno: errno, file: path) }
        let deadline = monotonicNanoseconds() + UInt64(lockWaitMilliseconds) * 1_000_000
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EWOULDBLOCK && monotonicNanoseconds() < deadline {
                usleep(10_000)
                continue
            }
            Glibc.close(descriptor)
            if code == EWOULDBLOCK {
                throw EngramError(.busy, "the data directory \(directory) is open in another process")
            }
            throw .system("cannot lock the data directory", errno: code, file: path)
        }
        return descriptor
    }

    // MARK: Writes

    /// Queues `command` and calls `completion` on the writer thread when it is durable (or
    /// applied, for `.applied`) and visible, or has failed. Throws at once, without queueing, for a command
    /// that breaks a limit, a full queue (`.busy`), or a closed store. For servers that complete
    /// a promise rather than await.
    public func submit<Command: WriteCommand>(
        _ command: Command,
        durability: Durability = .durable,
        completion: @escaping @Sendable (Result<Command.Outcome, EngramError>) -> Void
    ) throws(EngramError) {
        try command.validate(limits)
        try writer.submit(TypedPendingWrite(command, durability: durability, completion: completion))
    }

    /// Applies `command` and returns its outcome once durable (or applied, for `.applied`).
    public func write<Command: WriteCommand>(_ command: Command, durability: Durability = .durable) async throws(EngramError) -> Command.Outcome {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Command.Outcome, EngramError>, Never>) in
            do throws(EngramError) {
                try submit(command, durability: durability) { continuation.resume(returning: $0) }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Waits until a checkpoint has applied every batch published so far to LMDB. For tests and
    /// tools; not from an event loop or the writer's completions.
    func checkpointNow() throws(EngramError) {
        try writeAndWait(CheckpointCommand(request: .plain))
    }

    /// What the writer and the checkpoints have done so far, the queue's depth and the write
    /// buffers now.
    public var statistics: StoreStatistics {
        var statistics = writer.statistics.withLock { $0 }
        statistics.queueDepth = writer.queueDepth
        let buffers = views.bufferStatistics
        statistics.writeBufferCount = buffers.count
        statistics.writeBufferBytes = buffers.byteCount
        return statistics
    }

    /// Runs `body` in a consistent read of the store: the published batches, in the write buffers
    /// and LMDB (docs/STORAGE.md, "Write buffers").
    func read<Result>(_ body: (StoreTransaction) throws(EngramError) -> Result) throws(EngramError) -> Result {
        try views.read(body)
    }
}

/// What opening the store found.
public struct RecoveryReport: Sendable, Equatable {
    /// The LSN of the checkpoint open started from (0 for a new store).
    public var checkpointLSN: UInt64
    /// Log records replayed on top of the checkpoint.
    public var recordsReplayed: Int
    /// Batches skipped because a rollback record voided them.
    public var batchesRolledBack: Int
    /// The torn tail cut off the log, if any.
    public var tailCut: TailCut?
    /// Whether the directory held no store before.
    public var createdNew: Bool
    /// Torn tails found past the episodic log's checkpointed end and cut (docs/EPISODIC.md).
    public var episodicTailCuts: [TailCut] = []
    /// Damage found in the episodic log's checkpointed part; reads of those blocks fail.
    public var episodicDamage: [EngramError] = []
}
