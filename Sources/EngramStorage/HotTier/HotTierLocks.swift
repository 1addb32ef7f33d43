#if canImport(Glibc)
import Glibc
#endif

/// What one stripe counts, under its lock. Summed by `HotTier.statistics`.
struct StripeCounters {
    var itemCount = 0
    var longTermCacheItemCount = 0
    /// Key and value bytes of the stripe's linked items (for a cache entry, without its version).
    var keyValueBytes = 0
    var hitCount: UInt64 = 0
    var missCount: UInt64 = 0
    var evictionCount: UInt64 = 0
    var expirationCount: UInt64 = 0
    var cacheHitCount: UInt64 = 0
    var cacheMissCount: UInt64 = 0
    var cacheFillCount: UInt64 = 0
    var cacheFillRefusedCount: UInt64 = 0
    var cacheInvalidationCount: UInt64 = 0
}

/// The stripes' mutexes and counters, in one allocation that never moves (pthread mutexes must
/// not be copied). Each stripe has `HotTierLayout.stripeBytes`: the mutex on the first cache line,
/// the counters on the next ones, so two stripes never share a line.
struct StripeTable {
    private static let countersOffset = 64
    let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        precondition(MemoryLayout<pthread_mutex_t>.size <= Self.countersOffset, "pthread_mutex_t is \(MemoryLayout<pthread_mutex_t>.size) bytes")
        precondition(Self.countersOffset + MemoryLayout<StripeCounters>.size <= HotTierLayout.stripeBytes, "StripeCounters is \(MemoryLayout<StripeCounters>.size) bytes")
        self.count = count
        base = UnsafeMutableRawPointer.allocate(byteCount: count * HotTierLayout.stripeBytes, alignment: 64)
        for stripe in 0..<count {
            let mutex = (base + stripe * HotTierLayout.stripeBytes).bindMemory(to: pthread_mutex_t.self, capacity: 1)
            precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
            (base + stripe * HotTierLayout.stripeBytes + Self.countersOffset).bindMemory(to: StripeCounters.self, capacity: 1).initialize(to: StripeCounters())
        }
    }

    /// Called once, when the tier is released.
    func deallocate() {
        for stripe in 0..<count { pthread_mutex_destroy(mutex(stripe)) }
        base.deallocate()
    }

    @inline(__always)
    func mutex(_ stripe: Int) -> UnsafeMutablePointer<pthread_mutex_t> {
        (base + stripe * HotTierLayout.stripeBytes).assumingMemoryBound(to: pthread_mutex_t.self)
    }

    /// The stripe's counters; only while holding its lock.
    @inline(__always)
    func counters(_ stripe: Int) -> UnsafeMutablePointer<StripeCounters> {
        (base + stripe * HotTierLayout.stripeBytes + Self.countersOffset).assumingMemoryBound(to: StripeCounters.self)
    }

    @inline(__always) func lock(_ stripe: Int) { pthread_mutex_lock(mutex(stripe)) }
    @inline(__always) func unlock(_ stripe: Int) { pthread_mutex_unlock(mutex(stripe)) }
}

/// One size class: its pages, free chunks, CLOCK hand and counters, guarded by its own mutex.
///
/// `@unchecked Sendable`: every mutable field is read and written only with `lock()` held.
final class SlabClass: @unchecked Sendable {
    let index: Int
    let chunkBytes: Int
    let chunksPerPage: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// First free chunk (a reference, 0 = none), linked through the chunks' `next` fields.
    var freeHead: UInt32 = 0
    var freeCount = 0
    /// The pages this class holds, in the order it got them; the hand walks them in this order.
    var pages: [Int] = []
    var handPageOrdinal = 0
    var handChunkIndex = 0
    /// Chunks handed out and not yet freed: linked items and chunks in flight.
    var allocatedCount = 0
    var evictionCount: UInt64 = 0
    /// Evictions since the last page-balance check.
    var windowEvictionCount = 0

    init(index: Int, chunkBytes: Int, pageBytes: Int, pageCountMax: Int) {
        self.index = index
        self.chunkBytes = chunkBytes
        self.chunksPerPage = pageBytes / chunkBytes
        pages.reserveCapacity(pageCountMax)
        mutex = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    var chunkCount: Int { pages.count * chunksPerPage }
}

