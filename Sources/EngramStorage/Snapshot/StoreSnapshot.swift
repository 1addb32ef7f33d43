import FoundationEssentials

/// Where a snapshot stands in the store's history (docs/EXPORT.md, "Positions").
public struct SnapshotPosition: Sendable, Hashable, CustomStringConvertible {
    /// The commit-log sequence number of the last batch the snapshot holds (`applied_lsn`). Every
    /// batch gets a new one, so two snapshots with the same LSN hold the same data.
    public let lsn: UInt64
    /// The highest version the store had given out. A lead, campaign, long-term value or semantic
    /// fact written after the snapshot has a larger version, and a metric event appended after it
    /// a larger sequence (one counter serves both).
    public let version: UInt64
    /// The last episodic position committed, 0 when there is none: an episode appended after the
    /// snapshot has a larger position.
    public let episodicPosition: UInt64

    public init(lsn: UInt64, version: UInt64, episodicPosition: UInt64) {
        self.lsn = lsn
        self.version = version
        self.episodicPosition = episodicPosition
    }

    public var description: String { "lsn \(lsn), version \(version), episodic position \(episodicPosition)" }
}

/// The LMDB tables a snapshot scans by namespace, in key order.
public enum SnapshotTable: UInt8, Sendable, CaseIterable {
    /// `id` → lead record (docs/RECORDS.md).
    case leads = 1
    /// `id` → campaign record.
    case campaigns = 2
    /// `campaign_id time:u64be sequence:u64be` → 52-byte metric event record.
    case campaignEvents = 3
    /// `key` → `[u8 format][u64 version][value]` (docs/STORAGE.md, "long_term").
    case longTerm = 4
    /// `id` → `[u8 format][u64 version][fact]` (docs/STORAGE.md, "semantic").
    case semantic = 5
}

/// A consistent read-only view of the whole store at one instant, held open across many calls:
/// one LMDB read transaction on a checkpoint that holds every batch published before the open, the
/// episodic position at that instant, and read handles on every episodic segment file the snapshot
/// names (so retention or recompression removing a file does not take it from under the snapshot).
/// It reads LMDB alone, so holding it pins LMDB pages, never write buffers (docs/STORAGE.md,
/// "Checkpoints").
///
/// Owner: whoever opened it (`EngramStore.openSnapshot()`), who must `close()` it; the store
/// closes any left open when it closes. Any thread may use it, one call at a time (calls are
/// serialised by its lock: an LMDB transaction is used by one thread at a time). Holding it pins
/// LMDB pages, which is why `Limits.snapshotHoldSecondsMax` bounds how long a server keeps one.
public final class StoreSnapshot: @unchecked Sendable {
    struct State {
        var transaction: StoreTransaction?
        var pinnedHandles: [String: SegmentReadHandle]
    }

    public let position: SnapshotPosition
    /// When it was opened, on the monotonic clock.
    public let openedNanoseconds: UInt64
    let store: EngramStore
    private let state: Lock<State>

    init(store: EngramStore) throws(EngramError) {
        self.store = store
        openedNanoseconds = monotonicNanoseconds()
        var opened: (StoreTransaction, SnapshotPosition, [String: SegmentReadHandle])?
        // A segment removed between the transaction's start and the handle's open is named by the
        // snapshot but gone: begin again, once or twice, on a newer snapshot.
        for attempt in 1...3 {
            let pinned = try store.environment.beginPinnedRead()
            let transaction = StoreTransaction(lmdbOnly: pinned, snapshotLSN: (try? pinned.readUInt64(store.tables.meta, MetaKey.appliedLSN) ?? 0) ?? 0)
            do throws(EngramError) {
                let position = try Self.readPosition(store, transaction)
                let handles = try Self.pinSegments(store, transaction, missingIsFatal: attempt < 3)
                opened = (transaction, position, handles)
                break
            } catch {
                transaction.lmdb.abort()
                if error.code != .corrupt || attempt == 3 { throw error }
            }
        }
        guard let (transaction, position, handles) = opened else { preconditionFailure("a snapshot open ended its attempts without a result or an error") }
        self.position = position
        self.state = Lock(State(transaction: transaction, pinnedHandles: handles))
    }

    deinit {
        state.withLock { $0.transaction?.lmdb.abort() }
    }

    /// Ends the read transaction and lets go of the segment files. Idempotent.
    public func close() {
        let wasOpen = state.withLock { state -> Bool in
            guard let transaction = state.transaction else { return false }
            transaction.lmdb.abort()
            state.transaction = nil
            state.pinnedHandles = [:]
            return true
        }
        if wasOpen { store.snapshotRegistry.remove(self) }
    }

    public var isClosed: Bool { state.withLock { $0.transaction == nil } }

    /// How long the snapshot has been open.
    public var heldNanoseconds: UInt64 { monotonicNanoseconds() - openedNanoseconds }

    /// Runs `body` with the snapshot's transaction, under its lock. `.closed` once closed.
    func withTransaction<Result>(_ body: (StoreTransaction, [String: SegmentReadHandle]) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let result = state.withLock { state in
            Swift.Result { () throws(EngramError) -> Result in
                guard let transaction = state.transaction else { throw EngramError(.closed, "the snapshot is closed") }
                return try body(transaction, state.pinnedHandles)
            }
        }
        return try result.get()
    }

    private static func readPosition(_ store: EngramStore, _ transaction: StoreTransaction) throws(EngramError) -> SnapshotPosition {
        let meta = store.tables.meta
        let lsn = try transaction.readUInt64(meta, MetaKey.appliedLSN) ?? 0
        let version = try transaction.readUInt64(meta, MetaKey.versionCounter) ?? 0
        let log = store.writer.episodicLog
        let episodic = try log.readState(transaction, log.table)
        return SnapshotPosition(lsn: lsn, version: version, episodicPosition: episodic.nextPosition - 1)
    }

    /// Opens (or shares) a read handle on every segment file a segment row names.
    private static func pinSegments(_ store: EngramStore, _ transaction: StoreTransaction, missingIsFatal: Bool) throws(EngramError) -> [String: SegmentReadHandle] {
        let log = store.writer.episodicLog
        var rows: [(segment: UInt64, generation: UInt32)] = []
        try transaction.withCursor(log.table) { (cursor) throws(EngramError) in
            var entry = try EpisodicKey.numbered(EpisodicKey.segment, 0).withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.segment {
                var reader = ByteReader(current.value, source: log.table.name)
                rows.append((EpisodicKey.number(of: current.key), try EpisodicSegmentRow.decode(from: &reader).generation))
                entry = try cursor.next()
            }
        }
        var handles: [String: SegmentReadHandle] = [:]
        for row in rows {
            do throws(EngramError) {
                handles[log.path(segment: row.segment, generation: row.generation)] = try log.readHandle(segment: row.segment, generation: row.generation)
            } catch {
                // A damaged store (a segment lost) still exports what it can: reads of that
                // segment's blocks report the damage. A race with a removal is retried first.
                if missingIsFatal || error.code != .corrupt { throw error }
            }
        }
        return handles
    }
}

extension EngramStore {
    /// Opens a snapshot of the whole store as it is now (see `StoreSnapshot`): asks for a
    /// checkpoint of every batch published so far and, when it has committed, calls `completion`
    /// on the checkpoint thread with a snapshot of LMDB. Calls it at once with `.busy` when
    /// `Limits.snapshotCountMax` snapshots are open already. For servers, which must not wait.
    public func openSnapshot(completion: @escaping @Sendable (Result<StoreSnapshot, EngramError>) -> Void) {
        do throws(EngramError) {
            try snapshotRegistry.reserve(countMax: limits.snapshotCountMax)
        } catch {
            return completion(.failure(error))
        }
        do throws(EngramError) {
            try submit(CheckpointCommand(request: .plain)) { [self] result in
                completion(Result { () throws(EngramError) -> StoreSnapshot in
                    do throws(EngramError) {
                        try result.get()
                        let snapshot = try StoreSnapshot(store: self)
                        snapshotRegistry.add(snapshot)
                        return snapshot
                    } catch {
                        snapshotRegistry.cancelReservation()
                        throw error
                    }
                })
            }
        } catch {
            snapshotRegistry.cancelReservation()
            completion(.failure(error))
        }
    }

    /// Opens a snapshot, waiting for its checkpoint on the calling thread (see
    /// `openSnapshot(completion:)`). Not from an event loop or the writer's completions.
    public func openSnapshot() throws(EngramError) -> StoreSnapshot {
        let waiter = WriteWaiter<StoreSnapshot>()
        openSnapshot { waiter.finish($0) }
        return try waiter.wait().get()
    }

    /// Snapshots open now.
    public var openSnapshotCount: Int { snapshotRegistry.count }
}

/// The store's open snapshots: bounded in number, all closed when the store closes (an LMDB
/// environment must not close under a live transaction).
final class SnapshotRegistry: Sendable {
    private struct Entries {
        var open: [ObjectIdentifier: StoreSnapshot] = [:]
        var reserved = 0
    }

    private let entries = Lock(Entries())

    var count: Int { entries.withLock { $0.open.count + $0.reserved } }

    func reserve(countMax: Int) throws(EngramError) {
        let granted = entries.withLock { entries -> Bool in
            guard entries.open.count + entries.reserved < countMax else { return false }
            entries.reserved += 1
            return true
        }
        if !granted { throw EngramError(.busy, "\(countMax) snapshots are open already (snapshotCountMax); close one or retry later") }
    }

    func cancelReservation() {
        entries.withLock { $0.reserved -= 1 }
    }

    func add(_ snapshot: StoreSnapshot) {
        entries.withLock { entries in
            entries.reserved -= 1
            entries.open[ObjectIdentifier(snapshot)] = snapshot
        }
    }

    func remove(_ snapshot: StoreSnapshot) {
        _ = entries.withLock { $0.open.removeValue(forKey: ObjectIdentifier(snapshot)) }
    }

    /// Closes every open snapshot; called by the store before LMDB closes.
    func closeAll() {
        let open = entries.withLock { Array($0.open.values) }
        for snapshot in open { snapshot.close() }
    }
}

extension Limits {
    /// The snapshots' relations: each snapshot holds a reader slot beside the pool, the
    /// checkpoint's pin and the writer.
    func validateSnapshots(_ require: (Bool, @autoclosure () -> String) throws(EngramError) -> Void) throws(EngramError) {
        try require(snapshotCountMax > 0, "snapshotCountMax must be positive, got \(snapshotCountMax)")
        try require(snapshotHoldSecondsMax > 0, "snapshotHoldSecondsMax must be positive, got \(snapshotHoldSecondsMax)")
        try require(snapshotCountMax + 4 <= lmdbReadersMax, "snapshotCountMax \(snapshotCountMax) leaves fewer than four of lmdbReadersMax \(lmdbReadersMax) reader slots for reads, the checkpoint's pin and the writer")
    }
}
