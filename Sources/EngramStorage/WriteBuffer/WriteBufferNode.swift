import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// One key of a write buffer's skip list, in the buffer's arena (docs/STORAGE.md, "Write buffers").
///
/// ```
///  0              8                16          18       19      20           24                24 + 8h
///  +--------------+----------------+-----------+--------+-------+------------+-----------------+-----------+
///  | newest       | previous node  | key bytes | height | table | hash: low  | next node, per  | key bytes |
///  | version: u64 | (level 0): u64 |    u16    |   u8   |  u8   | 32 bits    | level: u64 x h  |           |
///  +--------------+----------------+-----------+--------+-------+------------+-----------------+-----------+
/// ```
///
/// Pointers are stored as addresses (0 for none). The writer thread stores the three kinds of link
/// with release ordering after filling what they point to; readers load them with acquire
/// ordering. The other fields never change once the node is linked.
struct WriteBufferNode: WriteBufferArenaRecord {
    let pointer: UnsafeMutableRawPointer

    static let newestVersionOffset = 0
    static let previousOffset = 8
    static let keyByteCountOffset = 16
    static let heightOffset = 18
    static let tableOffset = 19
    static let hashOffset = 20
    static let linksOffset = 24

    static func byteCount(height: Int, keyByteCount: Int) -> Int { linksOffset + 8 * height + keyByteCount }

    init(_ pointer: UnsafeMutableRawPointer) {
        self.pointer = pointer
    }


    var height: Int { Int(pointer.load(fromByteOffset: Self.heightOffset, as: UInt8.self)) }

    var key: UnsafeRawBufferPointer {
        let count = Int(pointer.load(fromByteOffset: Self.keyByteCountOffset, as: UInt16.self))
        return UnsafeRawBufferPointer(start: pointer + Self.linksOffset + 8 * height, count: count)
    }

    var table: UInt8 { pointer.load(fromByteOffset: Self.tableOffset, as: UInt8.self) }
    var hashTag: UInt32 { pointer.load(fromByteOffset: Self.hashOffset, as: UInt32.self) }

    func next(_ level: Int) -> WriteBufferNode? {
        WriteBufferNode(address: Self.acquire(pointer + Self.linksOffset + 8 * level))
    }

    var previous: WriteBufferNode? { WriteBufferNode(address: Self.acquire(pointer + Self.previousOffset)) }

    var newestVersion: WriteBufferVersion? { WriteBufferVersion(address: Self.acquire(pointer + Self.newestVersionOffset)) }

    /// The newest version at or below `bound`, or nil when every version is newer (or undone).
    func version(atOrBelow bound: UInt64) -> WriteBufferVersion? {
        var version = newestVersion
        while let current = version, current.lsn > bound { version = current.older }
        return version
    }

    // MARK: Writer thread

    func setNext(_ node: WriteBufferNode?, level: Int) {
        Self.release(pointer + Self.linksOffset + 8 * level, node?.address ?? 0)
    }

    func setPrevious(_ node: WriteBufferNode?) {
        Self.release(pointer + Self.previousOffset, node?.address ?? 0)
    }

    func setNewestVersion(_ version: WriteBufferVersion?) {
        Self.release(pointer + Self.newestVersionOffset, version?.address ?? 0)
    }

    /// Fills a node just allocated, not yet reachable by any reader.
    static func initialize(_ pointer: UnsafeMutableRawPointer, height: Int, table: UInt8, hashTag: UInt32, key: UnsafeRawBufferPointer) -> WriteBufferNode {
        precondition(key.count <= Int(UInt16.max), "a write-buffer key of \(key.count) bytes")
        pointer.storeBytes(of: 0, toByteOffset: newestVersionOffset, as: UInt64.self)
        pointer.storeBytes(of: 0, toByteOffset: previousOffset, as: UInt64.self)
        pointer.storeBytes(of: UInt16(key.count), toByteOffset: keyByteCountOffset, as: UInt16.self)
        pointer.storeBytes(of: UInt8(height), toByteOffset: heightOffset, as: UInt8.self)
        pointer.storeBytes(of: table, toByteOffset: tableOffset, as: UInt8.self)
        pointer.storeBytes(of: hashTag, toByteOffset: hashOffset, as: UInt32.self)
        for level in 0..<height { pointer.storeBytes(of: 0, toByteOffset: linksOffset + 8 * level, as: UInt64.self) }
        if key.count > 0 { (pointer + linksOffset + 8 * height).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        return WriteBufferNode(pointer)
    }

    @inline(__always)
    static func acquire(_ address: UnsafeMutableRawPointer) -> UInt64 {
        engram_load_acquire(address.assumingMemoryBound(to: UInt64.self))
    }

    @inline(__always)
    static func release(_ address: UnsafeMutableRawPointer, _ value: UInt64) {
        engram_store_release(address.assumingMemoryBound(to: UInt64.self), value)
    }
}

/// One version of a key, in the buffer's arena. Never changes once its node links to it.
///
/// ```
///  0          8               16             20     24
///  +----------+---------------+--------------+------+--------------+
///  | lsn: u64 | older: u64    | value bytes  | pad  | value bytes  |
///  |          | (0: oldest)   | u32; max =   |      |              |
///  |          |               | tombstone    |      |              |
///  +----------+---------------+--------------+------+--------------+
/// ```
struct WriteBufferVersion: WriteBufferArenaRecord {
    let pointer: UnsafeMutableRawPointer

    static let lsnOffset = 0
    static let olderOffset = 8
    static let valueByteCountOffset = 16
    static let valueOffset = 24
    static let tombstone = UInt32.max

    init(_ pointer: UnsafeMutableRawPointer) {
        self.pointer = pointer
    }

    var lsn: UInt64 { pointer.load(fromByteOffset: Self.lsnOffset, as: UInt64.self) }
    var older: WriteBufferVersion? { WriteBufferVersion(address: pointer.load(fromByteOffset: Self.olderOffset, as: UInt64.self)) }
    var isTombstone: Bool { pointer.load(fromByteOffset: Self.valueByteCountOffset, as: UInt32.self) == Self.tombstone }

    /// The value's bytes; empty for a tombstone.
    var value: UnsafeRawBufferPointer {
        let count = pointer.load(fromByteOffset: Self.valueByteCountOffset, as: UInt32.self)
        return UnsafeRawBufferPointer(start: pointer + Self.valueOffset, count: count == Self.tombstone ? 0 : Int(count))
    }

    static func initialize(_ pointer: UnsafeMutableRawPointer, lsn: UInt64, older: WriteBufferVersion?, valueByteCount: Int?) -> WriteBufferVersion {
        pointer.storeBytes(of: lsn, toByteOffset: lsnOffset, as: UInt64.self)
        pointer.storeBytes(of: older?.address ?? 0, toByteOffset: olderOffset, as: UInt64.self)
        pointer.storeBytes(of: valueByteCount.map { UInt32($0) } ?? tombstone, toByteOffset: valueByteCountOffset, as: UInt32.self)
        pointer.storeBytes(of: 0, toByteOffset: 20, as: UInt32.self)
        return WriteBufferVersion(pointer)
    }
}

/// Compares keys as LMDB's default order does: unsigned bytes, then the shorter first.
@inline(__always)
func compareKeys(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
    let common = min(left.count, right.count)
    if common > 0 {
        let order = memcmp(left.baseAddress!, right.baseAddress!, common)
        if order != 0 { return Int(order) }
    }
    return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
}

/// A record in a write buffer's arena, named in links by its address (0 for none).
protocol WriteBufferArenaRecord: Equatable {
    var pointer: UnsafeMutableRawPointer { get }
    init(_ pointer: UnsafeMutableRawPointer)
}

extension WriteBufferArenaRecord {
    init?(address: UInt64) {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: UInt(address)) else { return nil }
        self.init(pointer)
    }

    var address: UInt64 { UInt64(UInt(bitPattern: pointer)) }
}
