/// The hot tier's geometry, computed once from `Limits`: pages, size classes, buckets, and what
/// the bookkeeping costs on top of the budget (docs/HOT_TIER.md, "Memory" and "Cost beyond the
/// budget"). Immutable; shared by every thread.
struct HotTierLayout: Sendable {
    /// The chunk header: next, hash, expires, value count (u32 each), key count (u16), namespace
    /// count, flags, allocation, class (u8 each), two reserved bytes.
    static let headerBytes = 24
    /// A long-term cache entry's version, stored before its value.
    static let versionBytes = 8
    /// An index bucket: the chain's head, a u32 chunk reference.
    static let bucketBytes = 4
    /// The most long-term cache generations (u32 each): 256 KiB, small enough to stay in cache.
    static let generationCountMax = 1 << 16
    /// Each stripe's mutex and counters, on cache lines of their own.
    static let stripeBytes = 192
    /// A size class's state besides its page list (object header, mutex, counters).
    static let classStateBytes = 256
    /// Chunk references are `offset / 8 + 1` in a u32.
    static let arenaBytesLimit = (1 << 35) - 8
    /// Expiry is stored in whole seconds in a u32; a TTL this long leaves a century of uptime.
    static let ttlSecondsLimit = 1 << 30
    /// The class index is one byte in the header.
    static let classCountMax = 255

    let budgetBytes: Int
    let pageBytes: Int
    let pageCount: Int
    /// The chunk size of each class, ascending; the last is `pageBytes`.
    let chunkBytes: [Int]
    let bucketCount: Int
    /// Generations of the long-term cache, each shared by the keys whose hash ends the same.
    let generationCount: Int
    let stripeCount: Int

    init(_ limits: Limits) {
        budgetBytes = limits.hotTierBytes
        pageBytes = limits.hotTierSlabPageBytes
        pageCount = limits.hotTierBytes / limits.hotTierSlabPageBytes
        chunkBytes = Self.sizeClasses(minimum: limits.hotTierChunkBytesMin, growthPercent: limits.hotTierChunkGrowthPercent, pageBytes: limits.hotTierSlabPageBytes)
        var buckets = 1
        while buckets < max(1, limits.hotTierBytes / limits.hotTierBytesPerIndexBucket) { buckets <<= 1 }
        bucketCount = buckets
        stripeCount = limits.hotTierStripeCount
        generationCount = max(limits.hotTierStripeCount, min(buckets, Self.generationCountMax))
    }

    var classCount: Int { chunkBytes.count }

    func chunksPerPage(ofClass classIndex: Int) -> Int { pageBytes / chunkBytes[classIndex] }

    /// Bytes allocated at open besides the arena: the index, the stripes, each class's state and
    /// page list, and the free-page pool.
    var bookkeepingBytes: Int {
        bucketCount * Self.bucketBytes
            + generationCount * 4
            + stripeCount * Self.stripeBytes
            + classCount * (Self.classStateBytes + 8 * pageCount)
            + 8 * pageCount
    }

    /// The bytes an item takes in its chunk before rounding to the class.
    static func itemBytes(namespaceBytes: Int, keyBytes: Int, valueBytes: Int, isLongTermCache: Bool) -> Int {
        headerBytes + namespaceBytes + keyBytes + (isLongTermCache ? versionBytes : 0) + valueBytes
    }

    /// The smallest class whose chunk holds `itemBytes`, or nil when even the last does not.
    func classIndex(forItemBytes itemBytes: Int) -> Int? {
        guard itemBytes <= pageBytes else { return nil }
        var low = 0
        var high = chunkBytes.count - 1
        while low < high {
            let middle = (low + high) / 2
            if chunkBytes[middle] >= itemBytes { high = middle } else { low = middle + 1 }
        }
        return low
    }

    static func sizeClasses(minimum: Int, growthPercent: Int, pageBytes: Int) -> [Int] {
        var sizes: [Int] = []
        var size = (minimum + 7) & ~7
        while size <= pageBytes / 2 {
            sizes.append(size)
            size = max(size + 8, (size * growthPercent / 100 + 7) & ~7)
        }
        sizes.append(pageBytes)
        return sizes
    }
}
