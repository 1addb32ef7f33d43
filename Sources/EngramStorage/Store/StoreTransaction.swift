/// A consistent read of the store, and for the writer a place to write: LMDB at one read
/// transaction, the write buffers above it, and the bound LSN that decides which of the buffers'
/// versions it sees (docs/STORAGE.md, "Write buffers").
///
/// Lifetime: one read (the closure `EngramStore.read` hands it to) or one batch on the writer
/// thread. Every `UnsafeRawBufferPointer` it returns points into LMDB's map or a buffer's arena and
/// is valid only until the transaction ends; callers copy out what they keep. Not `Sendable`: one
/// thread uses a transaction at a time.
struct StoreTransaction {
    /// Where a writer's changes go: the active buffer, under the batch's LSN.
    struct WriteTarget {
        let buffer: WriteBuffer
        let lsn: UInt64
    }

    let lmdb: LMDBTransaction
    /// Newest first; the first is the active buffer.
    let buffers: [WriteBuffer]
    /// Buffers' versions above this LSN are invisible. `UInt64.max` for the writer, which sees
    /// everything it applied, published or not.
    let bound: UInt64
    /// The LSN of the state this transaction reads: the last batch it sees (for a writer, the batch
    /// being applied). Later transactions have larger or equal ones.
    let snapshotLSN: UInt64
    let writeTarget: WriteTarget?

    var isReadOnly: Bool { writeTarget == nil }

    /// A transaction over LMDB alone: recovery before the buffers exist, snapshots, checks of a
    /// closed store.
    init(lmdbOnly lmdb: LMDBTransaction, snapshotLSN: UInt64) {
        self.init(lmdb: lmdb, buffers: [], bound: 0, snapshotLSN: snapshotLSN, writeTarget: nil)
    }

    init(lmdb: LMDBTransaction, buffers: [WriteBuffer], bound: UInt64, snapshotLSN: UInt64, writeTarget: WriteTarget?) {
        self.lmdb = lmdb
        self.buffers = buffers
        self.bound = bound
        self.snapshotLSN = snapshotLSN
        self.writeTarget = writeTarget
    }

    /// The value at `key`, or nil. The bytes are borrowed (see the type's lifetime).
    func get(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer) throws(EngramError) -> UnsafeRawBufferPointer? {
        for buffer in buffers {
            switch buffer.lookup(table: table, key: key, bound: bound) {
            case .absent: continue
            case .deleted: return nil
            case .value(let value): return value
            }
        }
        return try lmdb.get(table, key)
    }

    func put(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(EngramError) {
        try checkWrite(table, key, valueByteCount: value.count)
        let target = writeTarget!
        target.buffer.write(table: table, key: key, lsn: target.lsn, valueByteCount: value.count) { destination in
            if value.count > 0 { destination.copyMemory(from: value) }
        }
    }

    /// Reserves `byteCount` bytes for the value at `key` and lets `fill` write them in place.
    func put(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, reserving byteCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws(EngramError) {
        try checkWrite(table, key, valueByteCount: byteCount)
        let target = writeTarget!
        target.buffer.write(table: table, key: key, lsn: target.lsn, valueByteCount: byteCount, fill: fill)
    }

    /// Deletes `key`; returns whether it was there.
    @discardableResult
    func delete(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer) throws(EngramError) -> Bool {
        try checkWrite(table, key, valueByteCount: 0)
        guard try get(table, key) != nil else { return false }
        writeTombstone(table, key)
        return true
    }

    /// A tombstone for a key the caller knows is there (a cursor's current entry).
    func writeTombstone(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer) {
        let target = writeTarget!
        target.buffer.write(table: table, key: key, lsn: target.lsn, valueByteCount: nil) { _ in }
    }

    func cursor(_ table: LMDBDatabase) throws(EngramError) -> StoreCursor {
        // The writer's own new keys of this batch must be in the skip list before it walks it.
        writeTarget?.buffer.linkUnlinked(table: table)
        return StoreCursor(table: table, lmdb: try lmdb.cursor(table), buffers: buffers.map { WriteBufferCursor(buffer: $0, table: table, bound: bound) }, transaction: self)
    }

    /// Runs `body` with a cursor that is closed when it returns.
    func withCursor<Result>(_ table: LMDBDatabase, _ body: (StoreCursor) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let cursor = try cursor(table)
        defer { cursor.close() }
        return try body(cursor)
    }

    /// Entries in `table` as this transaction sees it: LMDB's count, corrected by each buffered
    /// key's newest visible version (a put of a key LMDB lacks adds one, a tombstone of a key LMDB
    /// has takes one away). Reads LMDB once per buffered key of the table.
    func entryCount(_ table: LMDBDatabase) throws(EngramError) -> Int {
        var count = try lmdb.entryCount(table)
        guard !buffers.isEmpty else { return count }
        writeTarget?.buffer.linkUnlinked(table: table)
        let merged = StoreCursor(table: table, lmdb: nil, buffers: buffers.map { WriteBufferCursor(buffer: $0, table: table, bound: bound) }, transaction: self)
        var entry = try merged.first(includingTombstones: true)
        while let current = entry {
            let inLMDB = try lmdb.get(table, current.key) != nil
            if merged.currentIsTombstone {
                if inLMDB { count -= 1 }
            } else if !inLMDB {
                count += 1
            }
            entry = try merged.next(includingTombstones: true)
        }
        return count
    }

    private func checkWrite(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, valueByteCount: Int) throws(EngramError) {
        precondition(writeTarget != nil, "a write to \(table.name) in a read-only transaction")
        // LMDB's own checks, made here because LMDB sees the write only at the checkpoint, when
        // a refusal could no longer fail the request that made it.
        guard key.count > 0, key.count <= Limits.lmdbKeyBytesMax else {
            throw EngramError(.invalidArgument, "a key of \(key.count) bytes for \(table.name): LMDB keys are 1 to \(Limits.lmdbKeyBytesMax) bytes")
        }
        guard valueByteCount <= Int(UInt32.max - 1) else {
            throw EngramError(.invalidArgument, "a value of \(valueByteCount) bytes for \(table.name) is past the write buffer's 4 GiB")
        }
    }
}

extension LMDBEnvironment {
    /// Runs `body` in a read of LMDB alone: recovery before the write buffers exist or after its
    /// checkpoint emptied them, and checks of a store no writer is using. Its snapshot LSN is 0,
    /// the conservative answer for code that asks whether erase markers may exist.
    func readCheckpointed<Result>(_ body: (StoreTransaction) throws(EngramError) -> Result) throws(EngramError) -> Result {
        try read { (lmdb) throws(EngramError) -> Result in try body(StoreTransaction(lmdbOnly: lmdb, snapshotLSN: 0)) }
    }
}
