@testable import EngramStorage
import Testing

/// CLOCK order, page moves, and the cache's share. Items of class 0 (48-byte chunks, 21 to a
/// 1 KiB page) are "k…" keys with 1-byte values; class 5 (176-byte chunks, 5 to a page) items
/// carry 120-byte values (24 + 7 + a key of 2 to 5 bytes + 120 = 153 to 156 bytes).
@Suite struct HotTierEvictionTests {
    static let small = [UInt8](repeating: 7, count: 1)
    static let large = [UInt8](repeating: 9, count: 120)

    func present(_ tier: HotTier, _ keys: [String]) throws -> [String] {
        try keys.filter { key in try tier.withValue(namespace: agent, key: bytes(key)) { (_) throws(EngramError) in true } != nil }
    }

    @Test func clockEvictsTheFirstUnreferencedItemFromTheHand() throws {
        let test = TestHotTier(hotTierLimits(pageCount: 2))
        let tier = test.tier
        for index in 0..<42 { try tier.put(namespace: agent, key: bytes("k\(index)"), value: Self.small) }
        #expect(tier.statistics.freePageCount == 0)
        #expect(tier.statistics.classes[0].chunksInUse == 42)
        #expect(test.removals.take().isEmpty)
        // k0 and k1 are referenced: the hand clears their bits and takes k2, then k3.
        _ = try tier.get(namespace: agent, key: bytes("k0"))
        _ = try tier.get(namespace: agent, key: bytes("k1"))
        try tier.put(namespace: agent, key: bytes("n0"), value: Self.small)
        try tier.put(namespace: agent, key: bytes("n1"), value: Self.small)
        #expect(test.removals.takeKeys() == ["evicted k2", "evicted k3"])
        // k4 referenced now: passed; k5 goes.
        _ = try tier.get(namespace: agent, key: bytes("k4"))
        try tier.put(namespace: agent, key: bytes("n2"), value: Self.small)
        #expect(test.removals.takeKeys() == ["evicted k5"])
        // The hand reaches the end, wraps, and finds k0 and k1 unreferenced since it passed.
        for index in 3..<42 { try tier.put(namespace: agent, key: bytes("n\(index)"), value: Self.small) }
        let evicted = test.removals.takeKeys()
        #expect(evicted.prefix(3) == ["evicted k6", "evicted k7", "evicted k8"])
        #expect(evicted.suffix(4) == ["evicted k41", "evicted k0", "evicted k1", "evicted n0"])
        #expect(try present(tier, ["k0", "k1", "k2", "k4", "k5", "n0", "n1", "n41"]) == ["k4", "n1", "n41"])
        let statistics = tier.statistics
        #expect(statistics.evictionCount == 42)
        #expect(statistics.classes[0].evictionCount == 42)
        #expect(statistics.itemCount == 42)
        #expect(statistics.bytesInUse == 42 * 48)
    }

    @Test func theHandReclaimsExpiredItemsBeforeEvictingLiveOnes() throws {
        let test = TestHotTier(hotTierLimits(pageCount: 2))
        let tier = test.tier
        for index in 0..<42 { try tier.put(namespace: agent, key: bytes("k\(index)"), value: Self.small, ttlSeconds: index == 10 ? 1 : 0) }
        for index in 0..<10 { _ = try tier.get(namespace: agent, key: bytes("k\(index)")) }
        test.clock.advance(seconds: 1)
        try tier.put(namespace: agent, key: bytes("new"), value: Self.small)
        #expect(test.removals.takeKeys() == ["expired k10"])
        #expect(tier.statistics.expirationCount == 1)
        #expect(tier.statistics.evictionCount == 0)
    }

    @Test func aClassWithNoPageTakesOneFromTheClassWithTheMostWhenThePoolIsEmpty() throws {
        let test = TestHotTier(hotTierLimits(pageCount: 2))
        let tier = test.tier
        for index in 0..<42 { try tier.put(namespace: agent, key: bytes("k\(index)"), value: Self.small) }
        try tier.put(namespace: agent, key: bytes("large"), value: Self.large)
        let statistics = tier.statistics
        #expect(statistics.classes[0].pageCount == 1)
        #expect(statistics.classes[5].pageCount == 1)
        #expect(statistics.classes[5].chunksInUse == 1)
        #expect(statistics.pageMoveCount == 1)
        #expect(statistics.evictionCount == 21)
        #expect(test.removals.takeKeys() == (0..<21).map { "evicted k\($0)" })
        #expect(try tier.get(namespace: agent, key: bytes("large")) == Self.large)
        #expect(try present(tier, (0..<42).map { "k\($0)" }) == (21..<42).map { "k\($0)" })
        #expect(statistics.bytesInUse <= statistics.budgetBytes)
    }

    @Test func pagesMoveToTheClassWhoseItemsLiveShortest() throws {
        // Four pages; a balance check after every page's worth (1,024 bytes) of evictions.
        let test = TestHotTier(hotTierLimits(pageCount: 4, rebalanceEvictedPages: 1))
        let tier = test.tier
        for index in 0..<63 { try tier.put(namespace: agent, key: bytes("k\(index)"), value: Self.small) }
        var next = 0
        func putLarge(_ count: Int) throws {
            for _ in 0..<count {
                try tier.put(namespace: agent, key: bytes("j\(next)"), value: Self.large)
                next += 1
            }
        }
        // j0…j4 fill the fourth page; j5…j10 evict j0…j5, and the sixth eviction (6 × 176 ≥
        // 1,024 bytes) runs a check: class 0 has evicted nothing, so its first page moves.
        try putLarge(11)
        var statistics = tier.statistics
        #expect(statistics.pageMoveCount == 1)
        #expect(statistics.classes[0].pageCount == 2)
        #expect(statistics.classes[5].pageCount == 2)
        #expect(statistics.evictionCount == 6 + 21)
        #expect(try present(tier, (0..<63).map { "k\($0)" }) == (21..<63).map { "k\($0)" })
        // Five more use the moved page's free chunks; six more evictions bring a second move.
        try putLarge(5 + 6)
        statistics = tier.statistics
        #expect(statistics.pageMoveCount == 2)
        #expect(statistics.classes[0].pageCount == 1)
        #expect(statistics.classes[5].pageCount == 3)
        // A donor keeps its last page: no more moves, however long class 5 churns.
        try putLarge(200)
        statistics = tier.statistics
        #expect(statistics.pageMoveCount == 2)
        #expect(statistics.classes[0].pageCount == 1)
        #expect(try present(tier, (0..<63).map { "k\($0)" }) == (42..<63).map { "k\($0)" })
        #expect(statistics.classes.reduce(0) { $0 + $1.pageCount } == 4)
    }

    @Test func cacheEntriesStayWithinTheirShareAndReuseEachOthersChunks() throws {
        // 4 KiB budget, 25 %: cache entries may hold 1,024 bytes, 21 chunks of 48 bytes.
        let test = TestHotTier(hotTierLimits(pageCount: 4, cachePercentMax: 25))
        let tier = test.tier
        for index in 0..<21 { fill(tier, agent, "c\(index)", version: 1, value: "v") }
        #expect(tier.statistics.longTermCache.bytesInUse == 1_008)
        // The 22nd would pass the share: it takes the chunk of the first unreferenced entry.
        _ = cached(tier, agent, "c0")
        fill(tier, agent, "c21", version: 1, value: "v")
        #expect(test.removals.takeKeys() == ["evicted c1"])
        var statistics = tier.statistics
        #expect(statistics.longTermCache.itemCount == 21)
        #expect(statistics.longTermCache.bytesInUse == 1_008)
        #expect(statistics.longTermCache.fillSkippedCount == 0)
        // Short-term items still get the rest of the budget.
        for index in 0..<63 { try tier.put(namespace: agent, key: bytes("k\(index)"), value: Self.small) }
        statistics = tier.statistics
        #expect(statistics.itemCount == 63)
        #expect(statistics.evictionCount == 1)
        // With no cache entry in a class, a fill over the share is skipped.
        let lookup = try bytes("big").withBytes { (key) throws(EngramError) in try tier.lookupLongTerm(namespace: agent, key: key) { (_, _) throws(EngramError) in 0 } }
        guard case .miss(let generation) = lookup else { return }
        let outcome = bytes("big").withUnsafeBytes { key in
            Self.large.withUnsafeBytes { value in tier.fillLongTerm(namespace: agent, key: key, version: 1, value: value, generation: generation) }
        }
        #expect(outcome == .skipped)
        #expect(tier.statistics.longTermCache.fillSkippedCount == 1)
    }

    @Test func aFillLosesToANewerEntryAndToAnInvalidation() throws {
        let tier = TestHotTier().tier
        func lookup() -> UInt32? {
            let result = try? bytes("p").withBytes { (key) throws(EngramError) in try tier.lookupLongTerm(namespace: agent, key: key) { (_, _) throws(EngramError) in 0 } }
            if case .miss(let generation) = result { return generation }
            return nil
        }
        func fill(_ version: UInt64, _ generation: UInt32) -> HotTier.LongTermFill {
            bytes("p").withUnsafeBytes { key in bytes("v\(version)").withUnsafeBytes { tier.fillLongTerm(namespace: agent, key: key, version: version, value: $0, generation: generation) } }
        }
        let first = try #require(lookup())
        let second = try #require(lookup())
        #expect(fill(5, first) == .filled)
        #expect(fill(4, second) == .refused, "an older version never replaces a newer one")
        #expect(fill(6, second) == .filled, "a newer one does")
        #expect(cached(tier, agent, "p") == CachedValue(version: 6, bytes: bytes("v6")))
        tier.invalidateLongTerm(namespace: agent, key: bytes("p"))
        #expect(fill(7, second) == .refused, "a lookup from before an invalidation cannot fill")
        #expect(cached(tier, agent, "p") == nil)
        let statistics = tier.statistics.longTermCache
        #expect(statistics.fillCount == 2)
        #expect(statistics.fillRefusedCount == 2)
        #expect(statistics.invalidationCount == 1)
    }
}
