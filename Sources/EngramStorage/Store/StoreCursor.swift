/// A position in one table as a `StoreTransaction` sees it: LMDB's cursor and one cursor per write
/// buffer, merged. For each key the newest source that has it decides (buffers newest first, LMDB
/// last); a tombstone hides the key. It moves both ways, as LevelDB's merging iterator does: going
/// forward, every source sits at its first key past the position; going backward, at its last key
/// before it; a change of direction places them again.
///
/// Lifetime: the transaction's. A class, so that code written against LMDB's cursor (a handle it
/// moves through `let` bindings) reads the same; close it (or use `withCursor`) before the
/// transaction ends.
final class StoreCursor {
    typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    let table: LMDBDatabase
    private let lmdb: LMDBCursor?
    private var lmdbEntry: LMDBCursor.Entry?
    /// Newest first.
    private var buffers: [WriteBufferCursor]
    private let transaction: StoreTransaction
    private var forward = true
    /// The merged position; nil before the first move or after running off either end.
    private var current: Entry?
    /// Whether the current entry is a buffer's tombstone (only when asked to stop at them).
    private(set) var currentIsTombstone = false

    init(table: LMDBDatabase, lmdb: LMDBCursor?, buffers: [WriteBufferCursor], transaction: StoreTransaction) {
        self.table = table
        self.lmdb = lmdb
        self.buffers = buffers
        self.transaction = transaction
    }

    func close() { lmdb?.close() }

    /// The first entry whose key is at or after `key`.
    func seek(atOrAfter key: UnsafeRawBufferPointer) throws(EngramError) -> Entry? {
        linkWritersKeys()
        for index in buffers.indices { buffers[index].seek(atOrAfter: key) }
        lmdbEntry = try lmdb?.seek(atOrAfter: key)
        forward = true
        return try settleForward(includingTombstones: false)
    }

    func first() throws(EngramError) -> Entry? { try first(includingTombstones: false) }

    func last() throws(EngramError) -> Entry? {
        linkWritersKeys()
        for index in buffers.indices { buffers[index].last() }
        lmdbEntry = try lmdb?.last()
        forward = false
        return try settleBackward()
    }

    /// The entry after the current one; from an unpositioned cursor, the first (as LMDB's).
    func next() throws(EngramError) -> Entry? { try next(includingTombstones: false) }

    /// The entry before the current one; from an unpositioned cursor, the last (as LMDB's).
    func previous() throws(EngramError) -> Entry? {
        guard let position = current else { return try last() }
        linkWritersKeys()
        if forward {
            try placeBackward(before: position.key)
        } else {
            try stepBackward(from: position.key)
        }
        return try settleBackward()
    }

    /// Deletes the entry under the cursor (the writer's transaction only); the cursor stays at its
    /// key, so `next()` and `previous()` go on from there.
    func deleteCurrent() throws(EngramError) {
        guard let position = current else { preconditionFailure("deleteCurrent on an unpositioned cursor over \(table.name)") }
        precondition(!transaction.isReadOnly, "deleteCurrent in a read-only transaction over \(table.name)")
        transaction.writeTombstone(table, position.key)
    }

    // MARK: Moving, with tombstones when asked (counting entries)

    func first(includingTombstones: Bool) throws(EngramError) -> Entry? {
        linkWritersKeys()
        for index in buffers.indices { buffers[index].first() }
        lmdbEntry = try lmdb?.first()
        forward = true
        return try settleForward(includingTombstones: includingTombstones)
    }

    func next(includingTombstones: Bool) throws(EngramError) -> Entry? {
        guard let position = current else { return try first(includingTombstones: includingTombstones) }
        linkWritersKeys()
        if forward {
            try stepForward(from: position.key)
        } else {
            try placeForward(after: position.key)
        }
        return try settleForward(includingTombstones: includingTombstones)
    }

    // MARK: Sources

    /// In the writer's transaction, the batch's new keys of this table go into the skip list
    /// before the cursor moves, so it sees them (and its own deletions) as LMDB's cursor would.
    /// One load when there are none.
    private func linkWritersKeys() {
        transaction.writeTarget?.buffer.linkUnlinked(table: table)
    }

    /// Moves every source that sits at `key` one entry forward.
    private func stepForward(from key: UnsafeRawBufferPointer) throws(EngramError) {
        for index in buffers.indices where buffers[index].key.map({ compareKeys($0, key) == 0 }) == true {
            buffers[index].next()
        }
        if let entry = lmdbEntry, compareKeys(entry.key, key) == 0 { lmdbEntry = try lmdb!.next() }
    }

    /// Moves every source that sits at `key` one entry back.
    private func stepBackward(from key: UnsafeRawBufferPointer) throws(EngramError) {
        for index in buffers.indices where buffers[index].key.map({ compareKeys($0, key) == 0 }) == true {
            buffers[index].previous()
        }
        if let entry = lmdbEntry, compareKeys(entry.key, key) == 0 { lmdbEntry = try lmdb!.previous() }
    }

    /// Places every source at its first key after `key` (a change to the forward direction).
    private func placeForward(after key: UnsafeRawBufferPointer) throws(EngramError) {
        for index in buffers.indices {
            buffers[index].seek(atOrAfter: key)
            if let found = buffers[index].key, compareKeys(found, key) == 0 { buffers[index].next() }
        }
        if let lmdb {
            lmdbEntry = try lmdb.seek(atOrAfter: key)
            if let entry = lmdbEntry, compareKeys(entry.key, key) == 0 { lmdbEntry = try lmdb.next() }
        }
        forward = true
    }

    /// Places every source at its last key before `key` (a change to the backward direction).
    private func placeBackward(before key: UnsafeRawBufferPointer) throws(EngramError) {
        for index in buffers.indices { buffers[index].seek(before: key) }
        if let lmdb {
            if try lmdb.seek(atOrAfter: key) != nil {
                lmdbEntry = try lmdb.previous()
            } else {
                lmdbEntry = try lmdb.last()
            }
        }
        forward = false
    }

    /// Makes the smallest key among the sources the position, skipping deleted keys.
    private func settleForward(includingTombstones: Bool) throws(EngramError) -> Entry? {
        while true {
            guard let (source, key) = smallest() else { return settle(nil) }
            if let entry = try resolve(source, key, includingTombstones: includingTombstones) { return settle(entry) }
            try stepForward(from: key)
        }
    }

    /// Makes the largest key among the sources the position, skipping deleted keys.
    private func settleBackward() throws(EngramError) -> Entry? {
        while true {
            guard let (source, key) = largest() else { return settle(nil) }
            if let entry = try resolve(source, key, includingTombstones: false) { return settle(entry) }
            try stepBackward(from: key)
        }
    }

    private func settle(_ entry: Entry?) -> Entry? {
        current = entry
        return entry
    }

    /// The entry source `source` holds at `key`, or nil when it is a tombstone to skip.
    private func resolve(_ source: Int, _ key: UnsafeRawBufferPointer, includingTombstones: Bool) throws(EngramError) -> Entry? {
        if source == buffers.count {
            currentIsTombstone = false
            return lmdbEntry
        }
        let version = buffers[source].version!
        currentIsTombstone = version.isTombstone
        if version.isTombstone && !includingTombstones { return nil }
        return (key, version.value)
    }

    /// The source with the smallest key; among equal keys the newest (buffers before LMDB).
    private func smallest() -> (Int, UnsafeRawBufferPointer)? {
        var best: (Int, UnsafeRawBufferPointer)? = nil
        for index in buffers.indices {
            guard let key = buffers[index].key else { continue }
            if best == nil || compareKeys(key, best!.1) < 0 { best = (index, key) }
        }
        if let entry = lmdbEntry, best == nil || compareKeys(entry.key, best!.1) < 0 { best = (buffers.count, entry.key) }
        return best
    }

    /// The source with the largest key; among equal keys the newest.
    private func largest() -> (Int, UnsafeRawBufferPointer)? {
        var best: (Int, UnsafeRawBufferPointer)? = nil
        for index in buffers.indices {
            guard let key = buffers[index].key else { continue }
            if best == nil || compareKeys(key, best!.1) > 0 { best = (index, key) }
        }
        if let entry = lmdbEntry, best == nil || compareKeys(entry.key, best!.1) > 0 { best = (buffers.count, entry.key) }
        return best
    }
}
