@testable import EngramStorage
import Testing

@Suite struct HotTierExpiryTests {
    @Test func theDefaultTTLIs300SecondsToTheMillisecond() throws {
        let test = TestHotTier()
        try test.tier.put(namespace: agent, key: bytes("k"), value: bytes("v"))
        test.clock.advance(milliseconds: 299_999)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == bytes("v"))
        test.clock.advance(milliseconds: 1)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == nil)
        let statistics = test.tier.statistics
        #expect(statistics.expirationCount == 1)
        #expect(statistics.hitCount == 1)
        #expect(statistics.missCount == 1)
        #expect(statistics.itemCount == 0)
        #expect(statistics.classes[0].chunksInUse == 0)
        #expect(test.removals.takeKeys() == ["expired k"])
    }

    @Test func aTTLRoundsUpToWholeSecondsSoAnItemNeverExpiresEarly() throws {
        let test = TestHotTier()
        test.clock.advance(milliseconds: 500)
        try test.tier.put(namespace: agent, key: bytes("k"), value: bytes("v"), ttlSeconds: 1)
        // Put at 0.5 s with 1 s: expires at second 2 (ceil of 1.5), so it lives 1.5 s.
        test.clock.advance(milliseconds: 1_499)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == bytes("v"))
        test.clock.advance(milliseconds: 1)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == nil)
    }

    @Test func aTTLOfZeroNeverExpires() throws {
        let test = TestHotTier()
        try test.tier.put(namespace: agent, key: bytes("k"), value: bytes("v"), ttlSeconds: 0)
        test.clock.advance(seconds: 365 * 86_400)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == bytes("v"))
        #expect(test.tier.removeExpired(limit: 1_000).removedCount == 0)
    }

    @Test func touchGivesALiveItemANewTTLCountedFromNow() throws {
        let test = TestHotTier()
        try test.tier.put(namespace: agent, key: bytes("k"), value: bytes("v"), ttlSeconds: 10)
        test.clock.advance(seconds: 9)
        #expect(try test.tier.touch(namespace: agent, key: bytes("k"), ttlSeconds: 10))
        test.clock.advance(milliseconds: 9_999)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == bytes("v"))
        test.clock.advance(milliseconds: 1)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == nil)
        #expect(try test.tier.touch(namespace: agent, key: bytes("k"), ttlSeconds: 10) == false)
        #expect(try test.tier.touch(namespace: agent, key: bytes("never-there")) == false)
        let statistics = test.tier.statistics
        #expect(statistics.hitCount == 1, "touch counts no hit")
        #expect(statistics.missCount == 1, "touch counts no miss")
    }

    @Test func touchAndDeleteOfAnExpiredItemFindNothingAndCountAnExpiration() throws {
        let test = TestHotTier()
        try test.tier.put(namespace: agent, key: bytes("a"), value: bytes("v"), ttlSeconds: 1)
        try test.tier.put(namespace: agent, key: bytes("b"), value: bytes("v"), ttlSeconds: 1)
        test.clock.advance(seconds: 1)
        #expect(try test.tier.touch(namespace: agent, key: bytes("a"), ttlSeconds: 100) == false)
        #expect(try test.tier.delete(namespace: agent, key: bytes("b")) == false)
        #expect(test.tier.statistics.expirationCount == 2)
        #expect(test.tier.statistics.itemCount == 0)
        #expect(test.removals.takeKeys() == ["expired a", "expired b"])
    }

    @Test func touchMayAlsoRemoveTheExpiry() throws {
        let test = TestHotTier()
        try test.tier.put(namespace: agent, key: bytes("k"), value: bytes("v"), ttlSeconds: 5)
        #expect(try test.tier.touch(namespace: agent, key: bytes("k"), ttlSeconds: 0))
        test.clock.advance(seconds: 86_400)
        #expect(try test.tier.get(namespace: agent, key: bytes("k")) == bytes("v"))
    }

    @Test func ttlsOutsideTheLimitsAreRefused() throws {
        let tier = TestHotTier().tier
        #expect(syncEngramError { () throws(EngramError) in try tier.put(namespace: agent, key: bytes("k"), value: [], ttlSeconds: -1) } == EngramError(.invalidArgument, "a TTL of -1 seconds is outside 0 to hotTierTTLSecondsMax 2592000"))
        #expect(syncEngramError { () throws(EngramError) in try tier.put(namespace: agent, key: bytes("k"), value: [], ttlSeconds: 2_592_001) } == EngramError(.invalidArgument, "a TTL of 2592001 seconds is outside 0 to hotTierTTLSecondsMax 2592000"))
        #expect(syncEngramError { () throws(EngramError) in _ = try tier.touch(namespace: agent, key: bytes("k"), ttlSeconds: -5) }?.code == .invalidArgument)
        try tier.put(namespace: agent, key: bytes("k"), value: [], ttlSeconds: 2_592_000)
    }

    @Test func theSweepRemovesExpiredItemsInBoundedSteps() throws {
        let test = TestHotTier()
        // Ten items in class 0 (21 chunks a 1 KiB page): the first five expire. Two in class 1
        // (16 chunks a page), both expire.
        for index in 0..<10 {
            try test.tier.put(namespace: agent, key: bytes("k\(index)"), value: bytes("v"), ttlSeconds: index < 5 ? 1 : 0)
        }
        for index in 0..<2 {
            try test.tier.put(namespace: agent, key: bytes("big\(index)"), value: [UInt8](repeating: 0, count: 20), ttlSeconds: 1)
        }
        test.clock.advance(seconds: 1)
        #expect(test.tier.removeExpired(limit: 8) == HotTierSweep(visitedChunkCount: 8, removedCount: 5, passCompleted: false))
        #expect(test.tier.removeExpired(limit: 100) == HotTierSweep(visitedChunkCount: 13 + 16, removedCount: 2, passCompleted: true))
        #expect(test.tier.removeExpired(limit: 100) == HotTierSweep(visitedChunkCount: 37, removedCount: 0, passCompleted: true))
        let statistics = test.tier.statistics
        #expect(statistics.expirationCount == 7)
        #expect(statistics.itemCount == 5)
        #expect(statistics.classes[0].chunksInUse == 5)
        #expect(statistics.classes[1].chunksInUse == 0)
        for index in 5..<10 { #expect(try test.tier.get(namespace: agent, key: bytes("k\(index)")) == bytes("v")) }
        #expect(test.removals.take().count == 7)
    }

    @Test func removeNamespaceRemovesBothKindsAndFailsFillsInFlight() throws {
        let test = TestHotTier()
        for index in 0..<6 {
            try test.tier.put(namespace: agent, key: bytes("k\(index)"), value: bytes("v"))
            try test.tier.put(namespace: otherAgent, key: bytes("k\(index)"), value: bytes("w"))
        }
        fill(test.tier, agent, "profile", version: 3, value: "cached")
        let pending = try bytes("late").withBytes { (key) throws(EngramError) in
            try test.tier.lookupLongTerm(namespace: agent, key: key) { (_, _) throws(EngramError) in 0 }
        }
        #expect(test.tier.removeNamespace(agent) == 7)
        #expect(cached(test.tier, agent, "profile") == nil)
        for index in 0..<6 {
            #expect(try test.tier.get(namespace: agent, key: bytes("k\(index)")) == nil)
            #expect(try test.tier.get(namespace: otherAgent, key: bytes("k\(index)")) == bytes("w"))
        }
        guard case .miss(let generation) = pending else {
            Issue.record("expected a miss")
            return
        }
        let late = bytes("late").withUnsafeBytes { key in
            bytes("stale").withUnsafeBytes { value in test.tier.fillLongTerm(namespace: agent, key: key, version: 1, value: value, generation: generation) }
        }
        #expect(late == .refused)
        #expect(test.tier.statistics.itemCount == 6)
        #expect(test.tier.statistics.longTermCache.itemCount == 0)
        #expect(test.tier.removeNamespace(agent) == 0)
    }
}

/// Fills the tier's long-term cache as a read-through miss would, and expects it to be taken.
func fill(_ tier: HotTier, _ namespace: Namespace, _ key: String, version: UInt64, value: String) {
    let lookup = try? bytes(key).withBytes { (key) throws(EngramError) in
        try tier.lookupLongTerm(namespace: namespace, key: key) { (_, _) throws(EngramError) in 0 }
    }
    guard case .miss(let generation) = lookup else {
        Issue.record("expected a cache miss for \(key)")
        return
    }
    let outcome = bytes(key).withUnsafeBytes { key in
        bytes(value).withUnsafeBytes { value in tier.fillLongTerm(namespace: namespace, key: key, version: version, value: value, generation: generation) }
    }
    #expect(outcome == .filled)
}
