#if canImport(Glibc)
import Glibc
#endif

/// A view of one chunk in the arena: the 24-byte header and the item after it
/// (docs/HOT_TIER.md, "Chunk layout"). A value type over a pointer; which lock guards which field
/// is in the doc's table, and every caller holds the right one.
struct Chunk {
    static let linkedFlag: UInt8 = 1
    static let referencedFlag: UInt8 = 2
    static let longTermCacheFlag: UInt8 = 4

    let base: UnsafeMutableRawPointer

    @inline(__always) init(_ base: UnsafeMutableRawPointer) { self.base = base }

    var next: UInt32 {
        @inline(__always) get { base.load(fromByteOffset: 0, as: UInt32.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 0, as: UInt32.self) }
    }

    var hash: UInt32 {
        @inline(__always) get { base.load(fromByteOffset: 4, as: UInt32.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 4, as: UInt32.self) }
    }

    /// Whole seconds since the tier started, rounded up; 0 = never.
    var expiresSeconds: UInt32 {
        @inline(__always) get { base.load(fromByteOffset: 8, as: UInt32.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 8, as: UInt32.self) }
    }

    var valueByteCount: Int {
        @inline(__always) get { Int(base.load(fromByteOffset: 12, as: UInt32.self)) }
        @inline(__always) nonmutating set { base.storeBytes(of: UInt32(newValue), toByteOffset: 12, as: UInt32.self) }
    }

    var keyByteCount: Int {
        @inline(__always) get { Int(base.load(fromByteOffset: 16, as: UInt16.self)) }
        @inline(__always) nonmutating set { base.storeBytes(of: UInt16(newValue), toByteOffset: 16, as: UInt16.self) }
    }

    var namespaceByteCount: Int {
        @inline(__always) get { Int(base.load(fromByteOffset: 18, as: UInt8.self)) }
        @inline(__always) nonmutating set { base.storeBytes(of: UInt8(newValue), toByteOffset: 18, as: UInt8.self) }
    }

    var flags: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 19, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 19, as: UInt8.self) }
    }

    /// 0 = free (on its class's free list), 1 = allocated.
    var isAllocated: Bool {
        @inline(__always) get { base.load(fromByteOffset: 20, as: UInt8.self) != 0 }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue ? 1 : 0, toByteOffset: 20, as: UInt8.self) }
    }

    var classIndex: Int {
        @inline(__always) get { Int(base.load(fromByteOffset: 21, as: UInt8.self)) }
        @inline(__always) nonmutating set { base.storeBytes(of: UInt8(newValue), toByteOffset: 21, as: UInt8.self) }
    }

    var isLinked: Bool { flags & Self.linkedFlag != 0 }
    var isLongTermCache: Bool { flags & Self.longTermCacheFlag != 0 }

    var namespaceBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + HotTierLayout.headerBytes, count: namespaceByteCount)
    }

    var keyBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + HotTierLayout.headerBytes + namespaceByteCount, count: keyByteCount)
    }

    /// Where the version (cache entries) or the value (short-term items) starts.
    private var payloadOffset: Int { HotTierLayout.headerBytes + namespaceByteCount + keyByteCount }

    /// A cache entry's long-term version.
    var version: UInt64 {
        get { base.loadUnaligned(fromByteOffset: payloadOffset, as: UInt64.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: payloadOffset, as: UInt64.self) }
    }

    var value: UnsafeRawBufferPointer {
        let offset = payloadOffset + (isLongTermCache ? HotTierLayout.versionBytes : 0)
        return UnsafeRawBufferPointer(start: base + offset, count: valueByteCount)
    }

    /// Writes an item's fields and bytes into a chunk the caller has just been handed (allocated,
    /// not linked, so no other thread reads it). The flags stay clear until it is linked.
    func write(_ identity: ItemIdentity, expiresSeconds: UInt32, version: UInt64?, value: UnsafeRawBufferPointer) {
        self.expiresSeconds = expiresSeconds
        valueByteCount = value.count
        keyByteCount = identity.key.count
        namespaceByteCount = identity.namespace.count
        var offset = HotTierLayout.headerBytes
        // Namespace and key are never empty (validated before an item is made).
        (base + offset).copyMemory(from: identity.namespace.baseAddress!, byteCount: identity.namespace.count)
        offset += identity.namespace.count
        (base + offset).copyMemory(from: identity.key.baseAddress!, byteCount: identity.key.count)
        offset += identity.key.count
        if let version {
            base.storeBytes(of: version, toByteOffset: offset, as: UInt64.self)
            offset += HotTierLayout.versionBytes
        }
        if value.count > 0 {
            (base + offset).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
    }

    /// Replaces a linked short-term item's value and expiry in place, under its stripe lock: the
    /// caller has checked the new value fits the chunk's class.
    func overwrite(expiresSeconds: UInt32, value: UnsafeRawBufferPointer) {
        self.expiresSeconds = expiresSeconds
        valueByteCount = value.count
        if value.count > 0 {
            (base + payloadOffset).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
    }

    /// Whether this linked chunk holds the item `identity` names.
    @inline(__always)
    func matches(_ identity: ItemIdentity) -> Bool {
        guard hash == identity.hash32,
              flags & Self.longTermCacheFlag == identity.kindFlag,
              keyByteCount == identity.key.count,
              namespaceByteCount == identity.namespace.count else { return false }
        let stored = base + HotTierLayout.headerBytes
        if memcmp(stored, identity.namespace.baseAddress!, identity.namespace.count) != 0 { return false }
        return memcmp(stored + identity.namespace.count, identity.key.baseAddress!, identity.key.count) == 0
    }
}

/// The kind, namespace and key of an item, with its hash; borrowed bytes, valid for one call.
struct ItemIdentity {
    /// 0 for a short-term item, `Chunk.longTermCacheFlag` for a long-term cache entry.
    let kindFlag: UInt8
    let namespace: UnsafeRawBufferPointer
    let key: UnsafeRawBufferPointer
    let hash: UInt64

    @inline(__always)
    init(isLongTermCache: Bool, namespace: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, seed: UInt64) {
        kindFlag = isLongTermCache ? Chunk.longTermCacheFlag : 0
        self.namespace = namespace
        self.key = key
        hash = HotTierHash.hash(kind: kindFlag, namespace: namespace, key: key, seed: seed)
    }

    var hash32: UInt32 { UInt32(truncatingIfNeeded: hash) }
    var isLongTermCache: Bool { kindFlag != 0 }
}
