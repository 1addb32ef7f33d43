/// What the hot tier holds and has done since it started (docs/HOT_TIER.md, "Statistics").
public struct HotTierStatistics: Sendable, Equatable {
    /// Linked short-term items, expired ones not yet removed included.
    public var itemCount = 0
    /// Short-term gets (each key of a multi-get counts) that found a live item, and that did not.
    public var hitCount: UInt64 = 0
    public var missCount: UInt64 = 0
    /// Items of either kind removed to make room (by the CLOCK hand or a page move).
    public var evictionCount: UInt64 = 0
    /// Expired short-term items removed (by a get, touch, delete, put's eviction or the sweep).
    public var expirationCount: UInt64 = 0
    public var longTermCache = HotTierCacheStatistics()
    /// Every size class, smallest chunk first.
    public var classes: [HotTierClassStatistics] = []
    /// Key and value bytes of every linked item, both kinds (a cache entry's version excluded).
    public var keyValueBytes = 0
    public var budgetBytes = 0
    public var pageBytes = 0
    public var pageCount = 0
    /// Pages no class has taken yet.
    public var freePageCount = 0
    /// Pages moved between classes since start (starvation and lifetime balance).
    public var pageMoveCount: UInt64 = 0
    /// Bytes the index and tables take on top of the budget (`HotTierLayout.bookkeepingBytes`).
    public var bookkeepingBytes = 0

    public init() {}

    /// Chunk bytes handed out, all classes: never more than `budgetBytes`.
    public var bytesInUse: Int { classes.reduce(0) { $0 + $1.bytesInUse } }
}

public struct HotTierCacheStatistics: Sendable, Equatable {
    public var itemCount = 0
    public var hitCount: UInt64 = 0
    public var missCount: UInt64 = 0
    public var fillCount: UInt64 = 0
    /// Fills dropped because a write invalidated the bucket after the lookup, or a newer entry
    /// was there: each one a stale value the cache did not take.
    public var fillRefusedCount: UInt64 = 0
    /// Fills not attempted: too large, over the cache's share, or no chunk to be had.
    public var fillSkippedCount: UInt64 = 0
    /// Entries dropped because their key was written.
    public var invalidationCount: UInt64 = 0
    /// Chunk bytes held by cache entries, against `Limits.hotTierLongTermCachePercentMax`.
    public var bytesInUse = 0

    public init() {}
}

public struct HotTierClassStatistics: Sendable, Equatable {
    public var chunkBytes = 0
    public var pageCount = 0
    /// Chunks handed out: linked items plus any in flight at the instant of reading.
    public var chunksInUse = 0
    public var freeChunkCount = 0
    public var evictionCount: UInt64 = 0

    public init(chunkBytes: Int = 0, pageCount: Int = 0, chunksInUse: Int = 0, freeChunkCount: Int = 0, evictionCount: UInt64 = 0) {
        self.chunkBytes = chunkBytes
        self.pageCount = pageCount
        self.chunksInUse = chunksInUse
        self.freeChunkCount = freeChunkCount
        self.evictionCount = evictionCount
    }

    public var bytesInUse: Int { chunksInUse * chunkBytes }
}

extension HotTier {
    /// Sums the stripes' and classes' counters, taking each lock in turn: under concurrent load
    /// the totals are not one instant's, but each counter is exact.
    public var statistics: HotTierStatistics {
        var statistics = HotTierStatistics()
        for stripe in 0..<layout.stripeCount {
            stripes.lock(stripe)
            let counters = stripes.counters(stripe).pointee
            stripes.unlock(stripe)
            statistics.itemCount += counters.itemCount
            statistics.hitCount += counters.hitCount
            statistics.missCount += counters.missCount
            statistics.evictionCount += counters.evictionCount
            statistics.expirationCount += counters.expirationCount
            statistics.keyValueBytes += counters.keyValueBytes
            statistics.longTermCache.itemCount += counters.longTermCacheItemCount
            statistics.longTermCache.hitCount += counters.cacheHitCount
            statistics.longTermCache.missCount += counters.cacheMissCount
            statistics.longTermCache.fillCount += counters.cacheFillCount
            statistics.longTermCache.fillRefusedCount += counters.cacheFillRefusedCount
            statistics.longTermCache.invalidationCount += counters.cacheInvalidationCount
        }
        statistics.longTermCache.fillSkippedCount = cacheFillSkippedCount.load(ordering: .relaxed)
        statistics.longTermCache.bytesInUse = cacheBytes.load(ordering: .relaxed)
        statistics.classes = classes.map { slabClass in
            slabClass.lock()
            defer { slabClass.unlock() }
            return HotTierClassStatistics(chunkBytes: slabClass.chunkBytes, pageCount: slabClass.pages.count, chunksInUse: slabClass.allocatedCount, freeChunkCount: slabClass.freeCount, evictionCount: slabClass.evictionCount)
        }
        statistics.budgetBytes = layout.budgetBytes
        statistics.pageBytes = layout.pageBytes
        statistics.pageCount = layout.pageCount
        statistics.freePageCount = pagePool.withLock { $0.count }
        statistics.pageMoveCount = pageMoveCount.load(ordering: .relaxed)
        statistics.bookkeepingBytes = layout.bookkeepingBytes
        return statistics
    }
}
