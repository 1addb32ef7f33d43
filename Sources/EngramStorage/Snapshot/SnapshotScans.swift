/// Where a key-order scan of one table stands: after `after` (a key without its namespace
/// prefix), or at the start when nil; `isFinished` once the namespace's range is exhausted.
public struct SnapshotKeyCursor: Sendable, Hashable {
    public var after: [UInt8]?
    public var isFinished: Bool

    public init(after: [UInt8]? = nil, isFinished: Bool = false) {
        self.after = after
        self.isFinished = isFinished
    }
}

/// Where a position-order walk of the episodic log stands: every position up to `after` is done.
public struct SnapshotPositionCursor: Sendable, Hashable {
    public var after: UInt64
    public var isFinished: Bool

    public init(after: UInt64 = 0, isFinished: Bool = false) {
        self.after = after
        self.isFinished = isFinished
    }
}

/// What a scan's visitor answers for one entry.
public enum SnapshotVisit: Sendable {
    /// The entry is taken; go on.
    case take
    /// Stop before this entry: the next call starts with it.
    case stop
}

extension StoreSnapshot {
    /// Visits the entries of `table` in `namespace` in key order, from `cursor` on, looking at most
    /// at `examineCountMax` of them. `visit` gets each key without its namespace prefix and the
    /// stored value, both borrowed for the call. Advances `cursor` past every entry taken.
    public func scan(_ table: SnapshotTable, namespace: Namespace, cursor: inout SnapshotKeyCursor, examineCountMax: Int, _ visit: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(EngramError) -> SnapshotVisit) throws(EngramError) {
        guard !cursor.isFinished else { return }
        precondition(examineCountMax > 0, "examineCountMax must be positive, got \(examineCountMax)")
        let database = database(table)
        let prefixBytes = NamespacedKey.prefixBytes(namespace)
        let start = cursor
        let (lastTaken, finished) = try withTransaction { (transaction, _) throws(EngramError) -> ([UInt8]?, Bool) in
            try transaction.withCursor(database) { (lmdb) throws(EngramError) -> ([UInt8]?, Bool) in
                try NamespacedKey.with(namespace, start.after ?? []) { (seekKey) throws(EngramError) -> ([UInt8]?, Bool) in
                    let namespacePrefix = seekKey.slice(0..<prefixBytes)
                    var entry = try lmdb.seek(atOrAfter: seekKey)
                    if start.after != nil, let current = entry, current.key.elementsEqual(seekKey) { entry = try lmdb.next() }
                    var taken: UnsafeRawBufferPointer?
                    var examined = 0
                    while let current = entry, current.key.starts(with: namespacePrefix) {
                        if examined == examineCountMax { return (taken.map { Array($0[prefixBytes...]) }, false) }
                        if try visit(current.key.slice(prefixBytes..<current.key.count), current.value) == .stop {
                            return (taken.map { Array($0[prefixBytes...]) }, false)
                        }
                        taken = current.key
                        examined += 1
                        entry = try lmdb.next()
                    }
                    return (taken.map { Array($0[prefixBytes...]) }, true)
                }
            }
        }
        if let lastTaken { cursor.after = lastTaken }
        cursor.isFinished = finished
    }

    /// Visits the episodes of `namespace` in position order after `cursor`, reading blocks until
    /// about `examineBytesMax` raw record bytes were looked at. `visit` gets each record's position
    /// and its bytes (docs/EPISODIC.md, "Record"), borrowed for the call. Other namespaces'
    /// records are passed over and count as taken.
    public func scanEpisodes(namespace: Namespace, cursor: inout SnapshotPositionCursor, examineBytesMax: Int, _ visit: (_ position: UInt64, _ record: UnsafeRawBufferPointer) throws(EngramError) -> SnapshotVisit) throws(EngramError) {
        guard !cursor.isFinished else { return }
        let end = position.episodicPosition
        guard cursor.after < end else {
            cursor.isFinished = true
            return
        }
        let log = store.writer.episodicLog
        let start = cursor.after
        let name = namespace.bytes
        let (lastTaken, finished) = try withTransaction { (transaction, handles) throws(EngramError) -> (UInt64, Bool) in
            var reader = EpisodicBlockReader(log: log, transaction: transaction)
            reader.pinnedHandles = handles
            var lastTaken = start
            var examined = 0
            var stopped = false
            let finished = try Self.forEachBlock(from: start + 1, log: log, transaction) { (address) throws(EngramError) -> Bool in
                try reader.visitBlock(address) { (record) throws(EngramError) -> Bool in
                    guard record.position > lastTaken else { return true }
                    if record.namespace.elementsEqual(name), try visit(record.position, record.record) == .stop {
                        stopped = true
                        return false
                    }
                    lastTaken = record.position
                    examined += record.record.count
                    return true
                }
                return !(stopped || (examined >= examineBytesMax && lastTaken < end))
            }
            return (lastTaken, finished)
        }
        cursor.after = lastTaken
        cursor.isFinished = finished
    }

    /// Calls `visit` with ranges of positions that are in the log, in ascending order, covering
    /// every episode of every namespace the snapshot holds after `cursor` (docs/EXPORT.md,
    /// "Deletes"). A block whose record count spans its positions gives one range without being
    /// read; any other block is read to find its gaps. Looks at most at `blockCountMax` blocks.
    public func episodicRanges(cursor: inout SnapshotPositionCursor, blockCountMax: Int, _ visit: (ClosedRange<UInt64>) -> Void) throws(EngramError) {
        guard !cursor.isFinished else { return }
        let log = store.writer.episodicLog
        let start = cursor.after
        let (lastDone, finished) = try withTransaction { (transaction, handles) throws(EngramError) -> (UInt64, Bool) in
            var reader = EpisodicBlockReader(log: log, transaction: transaction)
            reader.pinnedHandles = handles
            var lastDone = start
            var blockCount = 0
            let finished = try Self.forEachBlock(from: start + 1, log: log, transaction) { (address) throws(EngramError) -> Bool in
                if blockCount == blockCountMax { return false }
                blockCount += 1
                let row = try reader.blockRow(address)
                if !row.isOpen, row.recordCount > 0, row.lastPosition >= address, UInt64(row.recordCount) == row.lastPosition - address + 1, address > start {
                    visit(address...row.lastPosition)
                    lastDone = row.lastPosition
                    return true
                }
                var run: ClosedRange<UInt64>?
                try reader.visitBlock(address) { (record) throws(EngramError) -> Bool in
                    guard record.position > start else { return true }
                    if let current = run, current.upperBound + 1 == record.position {
                        run = current.lowerBound...record.position
                    } else {
                        if let current = run { visit(current) }
                        run = record.position...record.position
                    }
                    lastDone = record.position
                    return true
                }
                if let run { visit(run) }
                // Every position of a sealed block is at most its last, present or erased.
                if !row.isOpen { lastDone = max(lastDone, row.lastPosition) }
                return true
            }
            return (lastDone, finished)
        }
        cursor.after = lastDone
        cursor.isFinished = finished
    }

    /// Calls `body` with the address of each block that may hold positions at or after
    /// `position`, ascending, while it returns true. Returns whether the last block was reached.
    private static func forEachBlock(from position: UInt64, log: EpisodicLog, _ transaction: StoreTransaction, _ body: (UInt64) throws(EngramError) -> Bool) throws(EngramError) -> Bool {
        try transaction.withCursor(log.table) { (cursor) throws(EngramError) -> Bool in
            let startKey = EpisodicKey.numbered(EpisodicKey.block, position)
            var entry = try startKey.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            if entry.map({ !$0.key.elementsEqual(startKey) }) ?? true {
                // The block before the start may run past it.
                let before = entry == nil ? try cursor.last() : try cursor.previous()
                if let before, before.key.count == 9, before.key[0] == EpisodicKey.block {
                    entry = before
                } else if entry != nil {
                    entry = try cursor.next()
                }
            }
            while let current = entry, current.key.count == 9, current.key[0] == EpisodicKey.block {
                guard try body(EpisodicKey.number(of: current.key)) else { return false }
                entry = try cursor.next()
            }
            return true
        }
    }

    func database(_ table: SnapshotTable) -> LMDBDatabase {
        switch table {
        case .leads: store.tables.records.leads
        case .campaigns: store.tables.records.campaigns
        case .campaignEvents: store.tables.records.campaignEvents
        case .longTerm: store.tables.longTerm
        case .semantic: store.tables.semantic
        }
    }
}
