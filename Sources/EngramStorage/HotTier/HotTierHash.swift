/// The index's hash of an item's identity: a seeded multiply-mix hash in the manner of wyhash.
///
/// The seed is random per process, so a client cannot pick keys that collide into one long chain.
/// The lengths and the kind enter the first state, so (namespace "ab", key "c") and ("a", "bc"),
/// or a short-term item and a cache entry with the same name, hash apart.
enum HotTierHash {
    private static let wordSecret: UInt64 = 0xA076_1D64_78BD_642F
    private static let stateSecret: UInt64 = 0xE703_7ED1_A0B4_28DB
    private static let finalSecret: UInt64 = 0x8EBC_6AF0_9C88_C6E3

    static func hash(kind: UInt8, namespace: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var state = seed ^ (UInt64(kind) << 56) ^ (UInt64(namespace.count) << 32) ^ UInt64(key.count)
        state = absorb(namespace, into: state)
        state = absorb(key, into: state)
        return mix(state ^ finalSecret, UInt64(namespace.count + key.count) ^ wordSecret)
    }

    @inline(__always)
    static func mix(_ left: UInt64, _ right: UInt64) -> UInt64 {
        let product = left.multipliedFullWidth(by: right)
        return product.high ^ product.low
    }

    @inline(__always)
    private static func absorb(_ bytes: UnsafeRawBufferPointer, into initial: UInt64) -> UInt64 {
        var state = initial
        var offset = 0
        let count = bytes.count
        while offset + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            state = mix(word ^ wordSecret, state ^ stateSecret)
            offset += 8
        }
        if offset < count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                word |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            state = mix(word ^ wordSecret, state ^ stateSecret)
        }
        return state
    }
}
