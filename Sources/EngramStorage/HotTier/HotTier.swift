#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Short-term memory and the read-through cache of long-term memory, in a fixed, preallocated
/// arena of `Limits.hotTierBytes` (docs/HOT_TIER.md is the contract).
///
/// Owned by the `EngramStore` (`store.hotTier`), which creates it at open and releases it with
/// itself; a tier can also stand alone (tests, benchmarks). Every method may be called from any
/// thread at any time: items are guarded by lock stripes, size classes by their own locks, and no
/// call waits for I/O. Nothing in it survives the process.
///
/// `@unchecked Sendable`: the raw memory behind it is only touched under the locks the doc's
/// "Index and locks" section names, and the Swift properties are immutable or atomic.
public final class HotTier: @unchecked Sendable {
    public let limits: Limits
    let layout: HotTierLayout
    let clock: any HotTierClock
    /// The clock's reading at start: expiry times count seconds from here.
    let epochMilliseconds: UInt64
    let seed: UInt64

    let arena: UnsafeMutableRawPointer
    /// Each bucket's chain head.
    let buckets: UnsafeMutablePointer<UInt32>
    /// The long-term cache's generations, indexed by the low bits of a key's hash; each one is
    /// guarded by the stripe lock of the keys that share it (`generationCount` ≥ stripes).
    let generations: UnsafeMutablePointer<UInt32>
    let bucketMask: Int
    let generationMask: Int
    let stripeMask: Int
    let stripes: StripeTable
    let classes: [SlabClass]
    /// Pages not yet given to a class, used as a stack.
    let pagePool: Lock<[Int]>

    /// Chunk bytes of linked long-term cache entries, against `cacheBytesMax`.
    let cacheBytes = Atomic<Int>(0)
    let cacheBytesMax: Int
    let cacheFillSkippedCount = Atomic<UInt64>(0)
    /// Chunk bytes evicted since the last page-balance check, and the amount that triggers one.
    let evictedBytesSinceBalance = Atomic<Int>(0)
    let balanceEvictedBytes: Int
    let balancing = Atomic<Bool>(false)
    let pageMoveCount = Atomic<UInt64>(0)
    let sweepCursor = Lock(SweepCursor())
    /// Namespaces being erased: their items read as absent, their puts are refused (docs/LIFECYCLE.md).
    let erasingNamespaces = ErasingNamespaces()

    /// Told about every eviction and expiration, under the item's stripe lock: a test's window
    /// into the tier's choices. It must not call the tier.
    let removalObserver: (@Sendable (HotTierRemoval) -> Void)?

    /// Creates a tier with `limits` (validated here) and `clock`.
    public convenience init(limits: Limits, clock: any HotTierClock = HotTierCoarseClock()) throws(EngramError) {
        try limits.validate()
        self.init(validated: limits, clock: clock, seed: UInt64.random(in: .min ... .max), removalObserver: nil)
    }

    /// `limits` must have passed `validate()`. Tests fix the seed and watch removals.
    init(validated limits: Limits, clock: any HotTierClock, seed: UInt64, removalObserver: (@Sendable (HotTierRemoval) -> Void)?) {
        self.limits = limits
        self.layout = HotTierLayout(limits)
        self.clock = clock
        self.epochMilliseconds = clock.nowMilliseconds()
        self.seed = seed
        self.removalObserver = removalObserver
        // One allocation for the whole budget; the kernel commits its pages on first touch.
        arena = UnsafeMutableRawPointer.allocate(byteCount: layout.budgetBytes, alignment: 4_096)
        // calloc: the zero pages of a large index also come from the kernel lazily.
        guard let bucketMemory = calloc(layout.bucketCount, MemoryLayout<UInt32>.size),
              let generationMemory = calloc(layout.generationCount, MemoryLayout<UInt32>.size) else {
            preconditionFailure("calloc of the hot tier's \(layout.bucketCount) index buckets failed")
        }
        buckets = bucketMemory.bindMemory(to: UInt32.self, capacity: layout.bucketCount)
        generations = generationMemory.bindMemory(to: UInt32.self, capacity: layout.generationCount)
        bucketMask = layout.bucketCount - 1
        generationMask = layout.generationCount - 1
        stripeMask = layout.stripeCount - 1
        stripes = StripeTable(count: layout.stripeCount)
        let layout = self.layout
        classes = layout.chunkBytes.indices.map {
            SlabClass(index: $0, chunkBytes: layout.chunkBytes[$0], pageBytes: layout.pageBytes, pageCountMax: layout.pageCount)
        }
        // Pages are handed out from the start of the arena: a stack with page 0 on top.
        pagePool = Lock(Array((0..<layout.pageCount).reversed()))
        cacheBytesMax = layout.budgetBytes * limits.hotTierLongTermCachePercentMax / 100
        balanceEvictedBytes = layout.pageBytes * limits.hotTierRebalanceEvictedPages
    }

    deinit {
        arena.deallocate()
        free(buckets)
        free(generations)
        stripes.deallocate()
    }

    // MARK: Addresses

    @inline(__always)
    func chunk(_ reference: UInt32) -> Chunk {
        Chunk(arena + (Int(reference) - 1) << 3)
    }

    @inline(__always)
    func reference(atOffset offset: Int) -> UInt32 { UInt32(offset >> 3) + 1 }

    @inline(__always)
    func reference(page: Int, chunkIndex: Int, chunkBytes: Int) -> UInt32 {
        reference(atOffset: page * layout.pageBytes + chunkIndex * chunkBytes)
    }

    @inline(__always) func bucketIndex(_ hash32: UInt32) -> Int { Int(hash32) & bucketMask }
    @inline(__always) func stripeIndex(_ hash32: UInt32) -> Int { Int(hash32) & stripeMask }

    @inline(__always) func head(_ bucket: Int) -> UInt32 { buckets[bucket] }
    @inline(__always) func setHead(_ bucket: Int, _ reference: UInt32) { buckets[bucket] = reference }
    @inline(__always) func generation(_ hash32: UInt32) -> UInt32 { generations[Int(hash32) & generationMask] }
    @inline(__always) func bumpGeneration(_ hash32: UInt32) { generations[Int(hash32) & generationMask] &+= 1 }

    // MARK: Time

    /// Milliseconds since the tier started.
    @inline(__always)
    func nowMilliseconds() -> UInt64 {
        let now = clock.nowMilliseconds()
        return now > epochMilliseconds ? now - epochMilliseconds : 0
    }

    /// The stored expiry for a TTL given at `now`: whole seconds, rounded up, 0 = never.
    @inline(__always)
    static func expiresSeconds(ttlSeconds: Int, nowMilliseconds: UInt64) -> UInt32 {
        guard ttlSeconds > 0 else { return 0 }
        let seconds = (nowMilliseconds + UInt64(ttlSeconds) * 1_000 + 999) / 1_000
        return UInt32(clamping: seconds)
    }

    @inline(__always)
    static func isExpired(_ expiresSeconds: UInt32, nowMilliseconds: UInt64) -> Bool {
        expiresSeconds != 0 && nowMilliseconds >= UInt64(expiresSeconds) * 1_000
    }

    /// The TTL a put or touch asked for, checked: nil is the default, 0 is never.
    func resolvedTTL(_ ttlSeconds: Int?) throws(EngramError) -> Int {
        let ttl = ttlSeconds ?? limits.hotTierDefaultTTLSeconds
        guard ttl >= 0, ttl <= limits.hotTierTTLSecondsMax else {
            throw EngramError(.invalidArgument, "a TTL of \(ttl) seconds is outside 0 to hotTierTTLSecondsMax \(limits.hotTierTTLSecondsMax)")
        }
        return ttl
    }

    func validate(namespace: Namespace, keyByteCount: Int) throws(EngramError) {
        guard namespace.bytes.count <= limits.namespaceBytesMax else {
            throw EngramError(.keyTooLarge, "namespace name of \(namespace.bytes.count) bytes exceeds namespaceBytesMax \(limits.namespaceBytesMax)")
        }
        guard keyByteCount > 0 else { throw EngramError(.invalidArgument, "a key must not be empty") }
        guard keyByteCount <= limits.keyBytesMax else {
            throw EngramError(.keyTooLarge, "key of \(keyByteCount) bytes exceeds keyBytesMax \(limits.keyBytesMax)")
        }
    }
}

/// Where `removeExpired(limit:)` resumes: a class, a page of it, a chunk of that page.
struct SweepCursor {
    var classIndex = 0
    var pageOrdinal = 0
    var chunkIndex = 0
}

/// An item the tier removed on its own, told to a test's observer.
struct HotTierRemoval: Sendable, Equatable {
    enum Reason: Sendable, Equatable {
        case evicted
        case expired
    }

    let reason: Reason
    let isLongTermCache: Bool
    let namespace: [UInt8]
    let key: [UInt8]
    let classIndex: Int
}
