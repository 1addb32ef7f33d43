#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import Synchronization

/// Limits for a small hot tier: `pageCount` pages of `pageBytes`, so tests reach every bound.
func hotTierLimits(pageBytes: Int = 1_024, pageCount: Int = 4, stripeCount: Int = 4, bytesPerIndexBucket: Int = 64, growthPercent: Int = 125, rebalanceEvictedPages: Int = 4, cachePercentMax: Int = 50) -> Limits {
    var limits = quietLimits()
    limits.hotTierSlabPageBytes = pageBytes
    limits.hotTierBytes = pageBytes * pageCount
    limits.hotTierStripeCount = stripeCount
    limits.hotTierBytesPerIndexBucket = bytesPerIndexBucket
    limits.hotTierChunkGrowthPercent = growthPercent
    limits.hotTierRebalanceEvictedPages = rebalanceEvictedPages
    limits.hotTierLongTermCachePercentMax = cachePercentMax
    return limits
}

/// A tier with a fixed hash seed, a manual clock, and its removals recorded.
struct TestHotTier {
    let tier: HotTier
    let clock: HotTierManualClock
    let removals: RemovalLog

    init(_ limits: Limits = hotTierLimits(), seed: UInt64 = 0x5EED) {
        try! limits.validate()
        let clock = HotTierManualClock()
        let removals = RemovalLog()
        self.clock = clock
        self.removals = removals
        tier = HotTier(validated: limits, clock: clock, seed: seed, removalObserver: { removals.append($0) })
    }
}

/// Collects what the tier's observer reports, from any thread.
final class RemovalLog: Sendable {
    private let entries = Lock<[HotTierRemoval]>([])

    func append(_ removal: HotTierRemoval) { entries.withLock { $0.append(removal) } }

    /// Everything reported since the last call.
    func take() -> [HotTierRemoval] { entries.withLock { entries in defer { entries.removeAll() }; return entries } }

    /// The keys (as text) of what was reported since the last call, with the reason.
    func takeKeys() -> [String] {
        take().map { ($0.reason == .evicted ? "evicted " : "expired ") + String(decoding: $0.key, as: UTF8.self) }
    }
}

let agent = try! Namespace("agent-7")
let otherAgent = try! Namespace("agent-8")

/// Runs `body(thread)` on `count` OS threads at once and returns when all have finished.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Context: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) { self.body = body; self.index = index }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Context(body, index)).toOpaque()
        let rc = pthread_create(&thread, nil, { argument in
            let context = Unmanaged<Context>.fromOpaque(argument!).takeRetainedValue()
            context.body(context.index)
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed with \(rc)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Runs `body` on `count` new OS threads and waits for them by polling, never blocking a thread of
/// Swift's cooperative pool: the pool has one thread per core, so on two cores two tests blocked in
/// `pthread_join` while the threads they wait for need async work to finish would stop every test.
func runThreadsWithoutBlocking(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
    final class Finished: Sendable { let count = Atomic<Int>(0) }
    let finished = Finished()
    for index in 0..<count {
        startThread(name: "test thread \(index)") {
            body(index)
            finished.count.add(1, ordering: .releasing)
        }
    }
    while finished.count.load(ordering: .acquiring) < count { try? await Task.sleep(for: .milliseconds(1)) }
}

/// A small deterministic generator (SplitMix64), so a failing property test can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body` and returns the EngramError it throws, or nil (synchronous form).
func syncEngramError(_ body: () throws(EngramError) -> Void) -> EngramError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}
