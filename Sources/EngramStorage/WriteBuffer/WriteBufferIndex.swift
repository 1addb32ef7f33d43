import CSystemShims

/// A write buffer's hash index: finds a key's node in one or two memory loads, where the skip list
/// takes a dozen dependent ones. Point reads and the writer's updates of keys the buffer already
/// holds use it; the skip list keeps the order for cursors and inserts.
///
/// ```
///  0              8                     8 + 8c
///  +--------------+---------------------+
///  | capacity c   | slot: node address  |   open addressing, linear probing; 0 = empty
///  |   u64        |   u64 x c           |
///  +--------------+---------------------+
/// ```
///
/// One writer, lock-free readers, as for the skip list: the writer stores a slot with release
/// ordering after the node is filled and linked; readers load slots with acquire ordering. When
/// the table is half full the writer builds one twice as large and publishes its address with
/// release; readers that still hold the old table may miss only nodes inserted after it was
/// replaced, which belong to batches past their bound. Old tables are freed with the buffer.
struct WriteBufferIndex {
    /// Slots of the first table: small, so a buffer of a few writes costs 16 KiB.
    static let initialCapacity = 2_048

    private(set) var table: UnsafeMutableRawPointer
    private(set) var count = 0
    private var retired: [UnsafeMutableRawPointer] = []
    /// The per-process hash seed, so a client cannot choose keys that pile into one run.
    let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        table = Self.allocate(capacity: Self.initialCapacity)
    }

    /// Frees every table. The index must not be used after.
    mutating func free() {
        table.deallocate()
        for old in retired { old.deallocate() }
        retired.removeAll()
    }

    var byteCount: Int { 8 + 8 * Self.capacity(of: table) + retired.reduce(0) { $0 + 8 + 8 * Self.capacity(of: $1) } }

    func hash(table index: UInt8, key: UnsafeRawBufferPointer) -> UInt64 {
        HotTierHash.hash(kind: index, namespace: UnsafeRawBufferPointer(start: nil, count: 0), key: key, seed: seed)
    }

    // MARK: Reading (any thread)

    /// The node of `key` in table `index`, from the table a reader loads now.
    static func find(in published: UnsafeMutableRawPointer, table index: UInt8, key: UnsafeRawBufferPointer, hash: UInt64) -> WriteBufferNode? {
        let capacity = capacity(of: published)
        let mask = capacity - 1
        let tag = UInt32(truncatingIfNeeded: hash)
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        while true {
            guard let node = WriteBufferNode(address: WriteBufferNode.acquire(published + 8 + 8 * slot)) else { return nil }
            if node.hashTag == tag, node.table == index, compareKeys(node.key, key) == 0 { return node }
            slot = (slot + 1) & mask
        }
    }

    // MARK: Writing (writer thread)

    /// Adds `node`, whose key the index does not hold yet. Returns the table to publish when it
    /// had to grow (the caller stores its address for readers), or nil.
    mutating func insert(_ node: WriteBufferNode, hash: UInt64) -> UnsafeMutableRawPointer? {
        var grown: UnsafeMutableRawPointer? = nil
        if (count + 1) * 2 > Self.capacity(of: table) {
            let larger = Self.allocate(capacity: Self.capacity(of: table) * 2)
            let oldCapacity = Self.capacity(of: table)
            for slot in 0..<oldCapacity {
                let address = table.load(fromByteOffset: 8 + 8 * slot, as: UInt64.self)
                if let existing = WriteBufferNode(address: address) { Self.place(existing, hash: rehash(existing), in: larger) }
            }
            retired.append(table)
            table = larger
            grown = larger
        }
        Self.place(node, hash: hash, in: table)
        count += 1
        return grown
    }

    private func rehash(_ node: WriteBufferNode) -> UInt64 {
        hash(table: node.table, key: node.key)
    }

    private static func place(_ node: WriteBufferNode, hash: UInt64, in table: UnsafeMutableRawPointer) {
        let mask = capacity(of: table) - 1
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        while table.load(fromByteOffset: 8 + 8 * slot, as: UInt64.self) != 0 { slot = (slot + 1) & mask }
        WriteBufferNode.release(table + 8 + 8 * slot, node.address)
    }

    private static func allocate(capacity: Int) -> UnsafeMutableRawPointer {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "a write-buffer index of \(capacity) slots, not a power of two")
        let table = UnsafeMutableRawPointer.allocate(byteCount: 8 + 8 * capacity, alignment: 8)
        table.initializeMemory(as: UInt64.self, repeating: 0, count: 1 + capacity)
        table.storeBytes(of: UInt64(capacity), as: UInt64.self)
        return table
    }

    static func capacity(of table: UnsafeMutableRawPointer) -> Int { Int(table.load(as: UInt64.self)) }
}
