@testable import EngramStorage
import Testing

@Suite struct HotTierTests {
    @Test func putThenGetReturnsTheValueAndOverwriteReplacesIt() throws {
        let tier = TestHotTier().tier
        try tier.put(namespace: agent, key: bytes("context"), value: bytes("lead 42 asked for pricing"))
        #expect(try tier.get(namespace: agent, key: bytes("context")) == bytes("lead 42 asked for pricing"))
        try tier.put(namespace: agent, key: bytes("context"), value: bytes("lead 42 booked a demo"))
        #expect(try tier.get(namespace: agent, key: bytes("context")) == bytes("lead 42 booked a demo"))
        #expect(try tier.get(namespace: agent, key: bytes("missing")) == nil)
        let statistics = tier.statistics
        #expect(statistics.itemCount == 1)
        #expect(statistics.hitCount == 2)
        #expect(statistics.missCount == 1)
        #expect(statistics.keyValueBytes == 7 + 21)
    }

    @Test func aPutOverAnItemOfTheSameClassRewritesItInPlace() throws {
        let test = TestHotTier()
        let tier = test.tier
        // 24 + 7 + 1 + 10 = 42 bytes: class 0 (48), one chunk of a fresh page.
        try tier.put(namespace: agent, key: bytes("k"), value: [UInt8](repeating: 1, count: 10), ttlSeconds: 1)
        #expect(tier.statistics.classes[0] == HotTierClassStatistics(chunkBytes: 48, pageCount: 1, chunksInUse: 1, freeChunkCount: 20, evictionCount: 0))
        // 16 bytes: still class 0, rewritten in place with the new TTL (none).
        try tier.put(namespace: agent, key: bytes("k"), value: [UInt8](repeating: 2, count: 16), ttlSeconds: 0)
        #expect(tier.statistics.classes[0] == HotTierClassStatistics(chunkBytes: 48, pageCount: 1, chunksInUse: 1, freeChunkCount: 20, evictionCount: 0))
        #expect(tier.statistics.keyValueBytes == 17)
        test.clock.advance(seconds: 10)
        #expect(try tier.get(namespace: agent, key: bytes("k")) == [UInt8](repeating: 2, count: 16))
        // 17 bytes need class 1: a new chunk there, the old one freed.
        try tier.put(namespace: agent, key: bytes("k"), value: [UInt8](repeating: 3, count: 17))
        let statistics = tier.statistics
        #expect(statistics.classes[0].chunksInUse == 0)
        #expect(statistics.classes[1].chunksInUse == 1)
        #expect(statistics.itemCount == 1)
        #expect(statistics.keyValueBytes == 18)
        #expect(try tier.get(namespace: agent, key: bytes("k")) == [UInt8](repeating: 3, count: 17))
    }

    @Test func emptyValuesAreValues() throws {
        let tier = TestHotTier().tier
        try tier.put(namespace: agent, key: bytes("flag"), value: [])
        #expect(try tier.get(namespace: agent, key: bytes("flag")) == [])
    }

    @Test func namespacesAndKindsNeverCollide() throws {
        let tier = TestHotTier().tier
        try tier.put(namespace: agent, key: bytes("k"), value: bytes("short-term in agent-7"))
        try tier.put(namespace: otherAgent, key: bytes("k"), value: bytes("short-term in agent-8"))
        let lookup = try bytes("k").withBytes { (key) throws(EngramError) in
            try tier.lookupLongTerm(namespace: agent, key: key) { (_, _) throws(EngramError) in 0 }
        }
        guard case .miss(let generation) = lookup else {
            Issue.record("a short-term item answered a long-term lookup")
            return
        }
        let fill = bytes("k").withUnsafeBytes { key in
            bytes("long-term").withUnsafeBytes { value in
                tier.fillLongTerm(namespace: agent, key: key, version: 9, value: value, generation: generation)
            }
        }
        #expect(fill == .filled)
        #expect(try tier.get(namespace: agent, key: bytes("k")) == bytes("short-term in agent-7"))
        #expect(try tier.get(namespace: otherAgent, key: bytes("k")) == bytes("short-term in agent-8"))
        #expect(cached(tier, agent, "k") == CachedValue(version: 9, bytes: bytes("long-term")))
        #expect(try tier.delete(namespace: agent, key: bytes("k")))
        #expect(cached(tier, agent, "k") == CachedValue(version: 9, bytes: bytes("long-term")))
        tier.invalidateLongTerm(namespace: agent, key: bytes("k"))
        #expect(cached(tier, agent, "k") == nil)
        #expect(try tier.get(namespace: otherAgent, key: bytes("k")) == bytes("short-term in agent-8"))
        let statistics = tier.statistics
        #expect(statistics.itemCount == 1)
        #expect(statistics.longTermCache.itemCount == 0)
        #expect(statistics.longTermCache.fillCount == 1)
        #expect(statistics.longTermCache.invalidationCount == 1)
    }

    @Test func deleteReportsWhetherALiveItemWasThere() throws {
        let tier = TestHotTier().tier
        try tier.put(namespace: agent, key: bytes("k"), value: bytes("v"))
        #expect(try tier.delete(namespace: agent, key: bytes("k")) == true)
        #expect(try tier.delete(namespace: agent, key: bytes("k")) == false)
        #expect(try tier.get(namespace: agent, key: bytes("k")) == nil)
        #expect(tier.statistics.itemCount == 0)
        #expect(tier.statistics.classes[0].chunksInUse == 0)
    }

    @Test func withValueLendsTheStoredBytes() throws {
        let tier = TestHotTier().tier
        try tier.put(namespace: agent, key: bytes("k"), value: bytes("borrowed"))
        let count = try tier.withValue(namespace: agent, key: bytes("k")) { (value) throws(EngramError) in value.count }
        #expect(count == 8)
        let missing = try tier.withValue(namespace: agent, key: bytes("other")) { (_) throws(EngramError) -> Int in
            Issue.record("body called for a missing key")
            return 0
        }
        #expect(missing == nil)
        let thrown = syncEngramError { () throws(EngramError) in
            _ = try tier.withValue(namespace: agent, key: bytes("k")) { (_) throws(EngramError) -> Int in throw EngramError(.notFound, "from the body") }
        }
        #expect(thrown == EngramError(.notFound, "from the body"))
        // The stripe lock was released when the body threw.
        #expect(try tier.get(namespace: agent, key: bytes("k")) == bytes("borrowed"))
    }

    @Test func multiGetAnswersInOrderAndCountsEachKey() throws {
        let tier = TestHotTier().tier
        try tier.put(namespace: agent, key: bytes("a"), value: bytes("1"))
        try tier.put(namespace: agent, key: bytes("c"), value: bytes("3"))
        let values = try tier.multiGet(namespace: agent, keys: [bytes("a"), bytes("b"), bytes("c"), bytes("a")])
        #expect(values == [bytes("1"), nil, bytes("3"), bytes("1")])
        #expect(tier.statistics.hitCount == 3)
        #expect(tier.statistics.missCount == 1)
        var limits = hotTierLimits()
        limits.hotTierMultiGetKeyCountMax = 2
        let small = TestHotTier(limits).tier
        let error = syncEngramError { () throws(EngramError) in _ = try small.multiGet(namespace: agent, keys: [bytes("a"), bytes("b"), bytes("c")]) }
        #expect(error == EngramError(.invalidArgument, "a multi-get of 3 keys exceeds hotTierMultiGetKeyCountMax 2"))
        let badKey = syncEngramError { () throws(EngramError) in _ = try tier.multiGet(namespace: agent, keys: [bytes("a"), []]) }
        #expect(badKey?.code == .invalidArgument)
        #expect(tier.statistics.hitCount == 3, "no key is read when one is invalid")
    }

    @Test func keysAndNamespacesAreChecked() throws {
        let tier = TestHotTier().tier
        #expect(syncEngramError { () throws(EngramError) in try tier.put(namespace: agent, key: [], value: bytes("v")) } == EngramError(.invalidArgument, "a key must not be empty"))
        let longKey = [UInt8](repeating: 0x61, count: 257)
        #expect(syncEngramError { () throws(EngramError) in _ = try tier.get(namespace: agent, key: longKey) } == EngramError(.keyTooLarge, "key of 257 bytes exceeds keyBytesMax 256"))
        let longName = try Namespace(String(repeating: "n", count: 65))
        #expect(syncEngramError { () throws(EngramError) in _ = try tier.delete(namespace: longName, key: bytes("k")) } == EngramError(.keyTooLarge, "namespace name of 65 bytes exceeds namespaceBytesMax 64"))
    }

    @Test func anItemLargerThanTheLargestChunkIsRefusedWithItsSizes() throws {
        let tier = TestHotTier(hotTierLimits(pageBytes: 4_096)).tier
        // 24 + 7 ("agent-7") + 1 + 4,064 = 4,096: exactly the largest chunk.
        try tier.put(namespace: agent, key: bytes("k"), value: [UInt8](repeating: 1, count: 4_064))
        #expect(try tier.get(namespace: agent, key: bytes("k"))?.count == 4_064)
        #expect(tier.statistics.classes.last?.chunksInUse == 1)
        let error = syncEngramError { () throws(EngramError) in
            try tier.put(namespace: agent, key: bytes("k"), value: [UInt8](repeating: 1, count: 4_065))
        }
        #expect(error == EngramError(.valueTooLarge, "an item of 4097 bytes (24-byte header, 7-byte namespace, 1-byte key, 4065-byte value) exceeds the largest slab chunk of 4096 bytes; with this namespace and key a value may have up to 4064 bytes"))
        // The refused put left the earlier value in place.
        #expect(try tier.get(namespace: agent, key: bytes("k"))?.count == 4_064)
    }

    @Test func statisticsCountBytesPerClass() throws {
        let tier = TestHotTier().tier
        // Class 0 holds 48 bytes: 24 header + 7 namespace + 1 key + up to 16 value bytes.
        for key in ["a", "b", "c"] { try tier.put(namespace: agent, key: bytes(key), value: [UInt8](repeating: 0, count: 16)) }
        // 17 value bytes make 49: class 1 (64 bytes).
        try tier.put(namespace: agent, key: bytes("d"), value: [UInt8](repeating: 0, count: 17))
        let statistics = tier.statistics
        #expect(statistics.classes.map(\.chunkBytes) == [48, 64, 80, 104, 136, 176, 224, 280, 352, 440, 1_024])
        #expect(statistics.classes[0] == HotTierClassStatistics(chunkBytes: 48, pageCount: 1, chunksInUse: 3, freeChunkCount: 18, evictionCount: 0))
        #expect(statistics.classes[1] == HotTierClassStatistics(chunkBytes: 64, pageCount: 1, chunksInUse: 1, freeChunkCount: 15, evictionCount: 0))
        #expect(statistics.classes[0].bytesInUse == 144)
        #expect(statistics.bytesInUse == 208)
        #expect(statistics.freePageCount == 2)
        #expect(statistics.pageCount == 4)
        #expect(statistics.budgetBytes == 4_096)
        #expect(statistics.itemCount == 4)
        #expect(statistics.keyValueBytes == 3 * 17 + 18)
        #expect(statistics.evictionCount == 0)
        #expect(statistics.expirationCount == 0)
    }
}

struct CachedValue: Equatable {
    let version: UInt64
    let bytes: [UInt8]
}

/// The tier's cached long-term entry for `key`, or nil on a miss.
func cached(_ tier: HotTier, _ namespace: Namespace, _ key: String) -> CachedValue? {
    let lookup = try? bytes(key).withBytes { (key) throws(EngramError) in
        try tier.lookupLongTerm(namespace: namespace, key: key) { (version, value) throws(EngramError) in CachedValue(version: version, bytes: Array(value)) }
    }
    if case .hit(let value) = lookup { return value }
    return nil
}
