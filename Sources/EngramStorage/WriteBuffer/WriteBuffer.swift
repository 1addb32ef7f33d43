import Synchronization

/// The changes of a run of consecutive batches, in memory, sorted and multi-versioned, for every
/// table: what LevelDB calls a memtable, with LMDB as the one level below it (docs/STORAGE.md,
/// "Write buffers").
///
/// Per table, a skip list ordered as LMDB orders keys, and one hash index over every table's
/// nodes for point reads; a key's node holds its versions, newest first. Only the store's writer thread (or recovery, before the writer starts) changes a buffer,
/// and only while it is the active one; once frozen, it never changes again. Readers on any thread
/// read it without a lock, each with a bound LSN: they see the newest version at or below the
/// bound. Nothing is freed until the buffer is (when the last view and reader holding it let go),
/// so the bytes a reader is handed stay valid for as long as it holds the buffer.
///
/// `@unchecked Sendable`: readers touch only the links (acquire loads of what the writer stored with
/// release) and fields that never change after; the fields marked "writer thread only" are the
/// writer's.
final class WriteBuffer: @unchecked Sendable {
    /// Skip-list levels: with a branching factor of 4, 12 levels keep searches logarithmic past
    /// 16 million keys, more than any buffer holds.
    static let heightMax = 12
    /// Tables a buffer can hold: LMDB database handles must be below it (`Limits.validate()`).
    static let tableCountMax = 64

    /// A number for logs and tests: buffers are numbered in the order they were created.
    let sequence: UInt64
    /// The head node of each table's skip list: no key, `heightMax` levels.
    private let heads: [WriteBufferNode]
    private let frozenFlag = Atomic<Bool>(false)
    /// Bytes of arena, the buffer's memory; read by the writer to decide when to freeze.
    private let arenaByteCount = Atomic<Int>(0)
    /// Versions ever added (not undone): for statistics.
    private let versionCountValue = Atomic<Int>(0)
    /// The hash index's current table, for readers (see `WriteBufferIndex`).
    private let publishedIndex: Atomic<UInt>
    /// The index's hash seed: random per process, so clients cannot choose colliding keys.
    private static let hashSeed = UInt64.random(in: .min ... .max)

    // Writer thread only. Unchecked exclusivity: only the writer thread touches these, one batch
    // at a time, and the dynamic checks cost a tenth of an insert.
    /// Versions (and the values in them).
    @exclusivity(unchecked) private var arena = WriteBufferArena()
    /// Skip-list nodes, apart from the versions so that a search touches densely packed memory.
    @exclusivity(unchecked) private var nodeArena: WriteBufferArena
    @exclusivity(unchecked) private var index: WriteBufferIndex
    @exclusivity(unchecked) private var randomState: UInt64
    /// Nodes given a version by the batch being applied, for `undoBatch`.
    @exclusivity(unchecked) private var touched: [WriteBufferNode] = []
    @exclusivity(unchecked) private var predecessors: [WriteBufferNode]
    /// Nodes the batch being applied created: in the hash index already, linked into their skip
    /// lists only when the batch ends (sorted, so each search starts where the last one stopped),
    /// or when the writer opens a cursor on their table.
    @exclusivity(unchecked) private var unlinked: [WriteBufferNode] = []
    /// `unlinked`, counted per table, so the check a writer's cursor makes at every move is one load.
    @exclusivity(unchecked) private var unlinkedCounts = [Int](repeating: 0, count: WriteBuffer.tableCountMax)
    /// The first and last LSN of the batches the buffer holds.
    @exclusivity(unchecked) private(set) var firstLSN: UInt64?
    @exclusivity(unchecked) private(set) var lastLSN: UInt64?
    /// When the first batch went in (monotonic), for the checkpoint interval.
    @exclusivity(unchecked) private(set) var firstBatchNanoseconds: UInt64?

    init(sequence: UInt64) {
        self.sequence = sequence
        self.randomState = 0x9E37_79B9_7F4A_7C15 ^ (sequence &* 0xBF58_476D_1CE4_E5B9) | 1
        var nodeArena = WriteBufferArena()
        var heads: [WriteBufferNode] = []
        heads.reserveCapacity(Self.tableCountMax)
        let headBytes = WriteBufferNode.byteCount(height: Self.heightMax, keyByteCount: 0)
        for table in 0..<Self.tableCountMax {
            heads.append(WriteBufferNode.initialize(nodeArena.allocate(headBytes), height: Self.heightMax, table: UInt8(table), hashTag: 0, key: UnsafeRawBufferPointer(start: nil, count: 0)))
        }
        self.nodeArena = nodeArena
        self.heads = heads
        self.predecessors = [WriteBufferNode](repeating: heads[0], count: Self.heightMax)
        let index = WriteBufferIndex(seed: Self.hashSeed)
        self.index = index
        self.publishedIndex = Atomic(UInt(bitPattern: index.table))
        arenaByteCount.store(nodeArena.byteCount + index.byteCount, ordering: .relaxed)
    }

    deinit {
        arena.free()
        nodeArena.free()
        index.free()
    }

    /// Bytes of memory the buffer holds.
    var byteCount: Int { arenaByteCount.load(ordering: .relaxed) }
    var versionCount: Int { versionCountValue.load(ordering: .relaxed) }
    var isEmpty: Bool { lastLSN == nil }
    var isFrozen: Bool { frozenFlag.load(ordering: .acquiring) }

    // MARK: Reading (any thread)

    /// What the buffer says about `key` for a reader whose bound is `bound`.
    enum Lookup {
        /// The buffer has no version of the key at or below the bound: look further down.
        case absent
        /// The newest version at or below the bound deletes the key.
        case deleted
        /// The newest version at or below the bound; the bytes live as long as the buffer.
        case value(UnsafeRawBufferPointer)
    }

    func lookup(table: LMDBDatabase, key: UnsafeRawBufferPointer, bound: UInt64) -> Lookup {
        guard let node = indexedNode(table: table, key: key), let version = node.version(atOrBelow: bound) else { return .absent }
        return version.isTombstone ? .deleted : .value(version.value)
    }

    /// The node of `key` through the hash index, or nil.
    func indexedNode(table: LMDBDatabase, key: UnsafeRawBufferPointer) -> WriteBufferNode? {
        let published = UnsafeMutableRawPointer(bitPattern: publishedIndex.load(ordering: .acquiring))!
        let tableIndex = Self.tableIndex(table)
        let hash = HotTierHash.hash(kind: tableIndex, namespace: UnsafeRawBufferPointer(start: nil, count: 0), key: key, seed: Self.hashSeed)
        return WriteBufferIndex.find(in: published, table: tableIndex, key: key, hash: hash)
    }

    static func tableIndex(_ table: LMDBDatabase) -> UInt8 {
        precondition(Int(table.handle) < tableCountMax, "LMDB database \(table.name) has handle \(table.handle), past the write buffer's \(tableCountMax) tables")
        return UInt8(table.handle)
    }

    /// The first node whose key is at or after `key` (whatever its versions), or nil.
    func firstNode(atOrAfter key: UnsafeRawBufferPointer, table: LMDBDatabase) -> WriteBufferNode? {
        var node = head(table)
        var level = Self.heightMax - 1
        while true {
            if let next = node.next(level), compareKeys(next.key, key) < 0 {
                node = next
            } else if level == 0 {
                return node.next(0)
            } else {
                level -= 1
            }
        }
    }

    /// The first node of `table`, or nil.
    func firstNode(table: LMDBDatabase) -> WriteBufferNode? { head(table).next(0) }

    /// The last node of `table`, or nil.
    func lastNode(table: LMDBDatabase) -> WriteBufferNode? {
        let start = head(table)
        var node = start
        var level = Self.heightMax - 1
        while true {
            if let next = node.next(level) {
                node = next
            } else if level == 0 {
                return node == start ? nil : node
            } else {
                level -= 1
            }
        }
    }

    func head(_ table: LMDBDatabase) -> WriteBufferNode {
        heads[Int(Self.tableIndex(table))]
    }

    // MARK: Writing (writer thread, active buffer only)

    /// Adds a version of `key` at `lsn`: a value of `valueByteCount` bytes that `fill` writes, or a
    /// tombstone when `valueByteCount` is nil. Readers with a bound below `lsn` do not see it.
    func write(table: LMDBDatabase, key: UnsafeRawBufferPointer, lsn: UInt64, valueByteCount: Int?, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(!isFrozen, "a write into frozen write buffer \(sequence)")
        precondition(key.count > 0, "an empty key in table \(table.name)")
        precondition(lastLSN.map { lsn >= $0 } ?? true, "LSN \(lsn) written after LSN \(lastLSN ?? 0) in write buffer \(sequence)")
        let versionPointer = arena.allocate(WriteBufferVersion.valueOffset + (valueByteCount ?? 0))
        let node = findOrInsert(table: table, key: key)
        let version = WriteBufferVersion.initialize(versionPointer, lsn: lsn, older: node.newestVersion, valueByteCount: valueByteCount)
        if let valueByteCount, valueByteCount > 0 {
            fill(UnsafeMutableRawBufferPointer(start: versionPointer + WriteBufferVersion.valueOffset, count: valueByteCount))
        }
        node.setNewestVersion(version)
        touched.append(node)
        arenaByteCount.store(arena.byteCount + nodeArena.byteCount + index.byteCount, ordering: .relaxed)
    }

    /// The batch at `lsn` is in the buffer for good: it may be published.
    func sealBatch(lsn: UInt64, nanoseconds: UInt64) {
        linkUnlinked()
        if !touched.isEmpty {
            versionCountValue.add(touched.count, ordering: .relaxed)
            if firstLSN == nil {
                firstLSN = lsn
                firstBatchNanoseconds = nanoseconds
            }
            lastLSN = lsn
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// Takes the versions the batch at `lsn` added off their nodes again, newest first. No reader
    /// saw them: the batch was never published.
    func undoBatch(lsn: UInt64) {
        // The batch's new nodes stay, versionless: the hash index already names them, so they
        // must be in their skip lists too before a later batch writes to them.
        linkUnlinked()
        for node in touched.reversed() {
            guard let newest = node.newestVersion else { preconditionFailure("write buffer \(sequence): a touched node has no version to undo") }
            precondition(newest.lsn == lsn, "write buffer \(sequence): undoing LSN \(lsn) found a version of LSN \(newest.lsn)")
            node.setNewestVersion(newest.older)
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// No more writes: the buffer may be handed to the checkpoint thread.
    func freeze() {
        precondition(touched.isEmpty && unlinked.isEmpty, "write buffer \(sequence) frozen in the middle of a batch")
        frozenFlag.store(true, ordering: .releasing)
    }

    /// The node of `key`, created (in the hash index, not yet in its skip list) if the buffer has
    /// none.
    private func findOrInsert(table: LMDBDatabase, key: UnsafeRawBufferPointer) -> WriteBufferNode {
        let tableIndex = Self.tableIndex(table)
        let hash = index.hash(table: tableIndex, key: key)
        if let found = WriteBufferIndex.find(in: index.table, table: tableIndex, key: key, hash: hash) { return found }
        let height = randomHeight()
        let inserted = WriteBufferNode.initialize(nodeArena.allocate(WriteBufferNode.byteCount(height: height, keyByteCount: key.count)), height: height, table: tableIndex, hashTag: UInt32(truncatingIfNeeded: hash), key: key)
        if let grown = index.insert(inserted, hash: hash) {
            publishedIndex.store(UInt(bitPattern: grown), ordering: .releasing)
        }
        unlinked.append(inserted)
        unlinkedCounts[Int(tableIndex)] += 1
        return inserted
    }

    /// Links the nodes of `table` the current batch created into its skip list, so a cursor of
    /// the writer's sees them. Writer thread, on the active buffer.
    func linkUnlinked(table: LMDBDatabase) {
        let tableIndex = Int(Self.tableIndex(table))
        guard unlinkedCounts[tableIndex] > 0 else { return }
        var others: [WriteBufferNode] = []
        var mine: [WriteBufferNode] = []
        for node in unlinked { if Int(node.table) == tableIndex { mine.append(node) } else { others.append(node) } }
        link(mine)
        unlinked = others
        unlinkedCounts[tableIndex] = 0
    }

    /// Links every node the current batch created, table by table, in key order.
    private func linkUnlinked() {
        guard !unlinked.isEmpty else { return }
        link(unlinked)
        unlinked.removeAll(keepingCapacity: true)
        for index in unlinkedCounts.indices { unlinkedCounts[index] = 0 }
    }

    /// Links `nodes` into their skip lists in key order. Each search starts from where the one
    /// before stopped (a finger search), so a batch of m random keys into n costs about
    /// m log(n / m) steps instead of m log n. No reader sees the nodes yet (their versions belong
    /// to an unpublished batch), so the order of linking is free.
    private func link(_ nodes: [WriteBufferNode]) {
        let sorted = nodes.sorted { left, right in
            left.table != right.table ? left.table < right.table : compareKeys(left.key, right.key) < 0
        }
        var currentTable: UInt8? = nil
        for node in sorted {
            let head = heads[Int(node.table)]
            if node.table != currentTable {
                currentTable = node.table
                for level in 0..<Self.heightMax { predecessors[level] = head }
            }
            let key = node.key
            // Top down: start each level from the later of the previous insert's predecessor at
            // that level and where the level above stopped (both are before `key`).
            var from = predecessors[Self.heightMax - 1]
            for level in stride(from: Self.heightMax - 1, through: 0, by: -1) {
                let previous = predecessors[level]
                if previous != from, previous != head, from == head || compareKeys(previous.key, from.key) > 0 { from = previous }
                while let next = from.next(level), compareKeys(next.key, key) < 0 { from = next }
                predecessors[level] = from
            }
            let height = node.height
            // Fill the node's own links first, then link it in from the bottom level up, so a
            // reader that finds it at any level finds it at level 0 too.
            for level in 0..<height { node.setNext(predecessors[level].next(level), level: level) }
            // The first key's previous link is none, not the head: a reader moving back stops there.
            node.setPrevious(predecessors[0] == head ? nil : predecessors[0])
            for level in 0..<height { predecessors[level].setNext(node, level: level) }
            if let successor = node.next(0) { successor.setPrevious(node) }
            for level in 0..<height { predecessors[level] = node }
        }
    }

    /// A height with probability 4^-(h-1), from a xorshift generator (the writer's own).
    private func randomHeight() -> Int {
        randomState ^= randomState << 13
        randomState ^= randomState >> 7
        randomState ^= randomState << 17
        var bits = randomState
        var height = 1
        while height < Self.heightMax && bits & 3 == 0 {
            height += 1
            bits >>= 2
        }
        return height
    }
}
