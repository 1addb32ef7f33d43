/// The state one batch is applied in: the writer's transaction (the write buffers over LMDB), the
/// tables, the batch's clock and version counter, and the commit-log payload being built.
///
/// Lives on the writer thread for one batch (or, at open, for the replay of one log record).
/// Every change goes through `apply(_:)`, which runs the redo operation against the store and records
/// it in the payload, so what is logged is exactly what was applied, and replay runs the same code.
public struct WriteContext {
    let transaction: StoreTransaction
    let tables: Tables
    let limits: Limits
    /// The batch's wall-clock time in microseconds since 1970; logged, so replay sees the same.
    public let batchTimeMicroseconds: Int64
    /// The store-wide version counter: every stored value gets the next number, so a version is
    /// never reused, even after a delete (no ABA for compare-and-set).
    private(set) var versionCounter: UInt64
    /// Whether the command now executing has changed the store; a failure after that aborts the batch.
    var commandChangedState = false
    /// The payload of the batch's log record; nil while replaying.
    var payload: ByteWriter?
    private(set) var operationCount: UInt32 = 0
    /// Long-term keys this batch put or deleted: the writer invalidates their cache entries after
    /// publishing the batch and before completing it (docs/HOT_TIER.md, "The long-term cache").
    /// Ignored in replay, where the cache is empty.
    var changedLongTermKeys: [(namespace: Namespace, key: [UInt8])] = []
    /// The episodic log, whose operations buffer block writes until the batch commits.
    let episodicLog: EpisodicLog
    /// Erase markers and the lifecycle's batch hooks (docs/LIFECYCLE.md).
    let lifecycle: LifecycleState
    /// Tiers holding work outside the store until the batch's fate is known (see `BatchParticipant`).
    private(set) var participants: [any BatchParticipant] = []
    /// Set by a command that completes only after a checkpoint has applied its batch to LMDB.
    var checkpointRequest: CheckpointRequest?

    init(transaction: StoreTransaction, tables: Tables, limits: Limits, batchTimeMicroseconds: Int64, versionCounter: UInt64, payload: ByteWriter?, episodicLog: EpisodicLog, lifecycle: LifecycleState) {
        self.transaction = transaction
        self.tables = tables
        self.limits = limits
        self.batchTimeMicroseconds = batchTimeMicroseconds
        self.versionCounter = versionCounter
        self.payload = payload
        self.episodicLog = episodicLog
        self.lifecycle = lifecycle
    }

    /// Registers `participant` to hear whether this batch commits or aborts; once per batch.
    mutating func enlist(_ participant: any BatchParticipant) {
        if !participants.contains(where: { $0 === participant }) { participants.append(participant) }
    }

    /// Tells every participant the transaction committed. All are told even if one fails; the
    /// first failure is returned for the writer to stop on.
    func notifyCommitted() -> EngramError? {
        var firstFailure: EngramError? = nil
        for participant in participants {
            do throws(EngramError) {
                try participant.batchCommitted()
            } catch {
                firstFailure = firstFailure ?? error
            }
        }
        return firstFailure
    }

    /// Tells every participant the transaction was aborted.
    func notifyAborted() {
        for participant in participants { participant.batchAborted() }
    }

    /// The next version number for a value written in this batch.
    public mutating func nextVersion() -> UInt64 {
        versionCounter += 1
        return versionCounter
    }

    /// Records a long-term key whose cached value this batch makes stale.
    mutating func noteLongTermChange(namespace: Namespace, key: [UInt8]) {
        changedLongTermKeys.append((namespace, key))
    }

    /// Keeps the counter ahead of a version seen in replay.
    mutating func observe(version: UInt64) {
        versionCounter = max(versionCounter, version)
    }

    /// Applies `operation` to the store and appends it to the batch's log payload.
    mutating func apply<Operation: RedoOperation>(_ operation: Operation) throws(EngramError) {
        commandChangedState = true
        try operation.apply(in: &self)
        if payload != nil { BatchPayload.append(operation, to: &payload!) }
        operationCount += 1
    }

    // MARK: Store access for redo operations

    func get(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer) throws(EngramError) -> UnsafeRawBufferPointer? {
        try transaction.get(table, key)
    }

    func put(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(EngramError) {
        try transaction.put(table, key, value)
    }

    func put(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, reserving byteCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws(EngramError) {
        try transaction.put(table, key, reserving: byteCount, fill: fill)
    }

    @discardableResult
    func delete(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer) throws(EngramError) -> Bool {
        try transaction.delete(table, key)
    }

    func withCursor<Result>(_ table: LMDBDatabase, _ body: (StoreCursor) throws(EngramError) -> Result) throws(EngramError) -> Result {
        try transaction.withCursor(table, body)
    }
}

/// One change as it is logged and replayed: fully resolved (versions and times assigned), so
/// applying it twice to the same state gives the same result.
public protocol RedoOperation {
    static var opcode: RedoOpcode { get }
    func encode(into writer: inout ByteWriter)
    static func decode(from reader: inout ByteReader) throws(EngramError) -> Self
    func apply(in context: inout WriteContext) throws(EngramError)
}

/// A tier that keeps work outside the store until its batch's fate is known: bytes for its own
/// files written only after the batch is published, files created in the batch removed if it
/// aborts. Writer thread only; enlisted through `WriteContext.enlist` by the redo operations that
/// buffer such work, live and in replay alike.
protocol BatchParticipant: AnyObject {
    /// The batch is in the log (synced when durable) and published to readers. A throw stops the
    /// store's writes, as a failed log sync does: the batch is in the log, and a restart replays it.
    func batchCommitted() throws(EngramError)
    /// The batch was undone: drop everything buffered for it.
    func batchAborted()
}

/// A command's wish for a checkpoint before it completes.
enum CheckpointRequest: Equatable {
    /// Every batch so far in LMDB (a snapshot's open).
    case plain
    /// The same, with the commit log's active segment retired first, so the checkpoint removes
    /// every log segment (an erase: no log file may keep a record written before it).
    case retiringCommitLog
}
