@testable import EngramStorage
import Synchronization
import Testing

/// Many threads on one small tier, so evictions, page moves, expirations and cache fills race
/// with reads. Every value says which key it belongs to and is derived from a header, so a torn,
/// mixed or foreign value is detectable by looking at it alone.
@Suite struct HotTierConcurrencyTests {
    static let keyCount = 300

    /// `[u16 key][u8 thread][u32 sequence][u16 length][length bytes derived from the header]`.
    static func value(key: Int, thread: Int, sequence: Int, length: Int) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(key & 0xFF), UInt8(key >> 8), UInt8(thread)]
        withUnsafeBytes(of: UInt32(sequence).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(length & 0xFF))
        bytes.append(UInt8(length >> 8))
        for index in 0..<length { bytes.append(filler(key: key, thread: thread, sequence: sequence, index: index)) }
        return bytes
    }

    static func filler(key: Int, thread: Int, sequence: Int, index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: key &* 31 &+ thread &* 17 &+ sequence &* 7 &+ index &* 13)
    }

    /// Nil if `bytes` is a whole value of `key`, else what is wrong with it.
    static func problem(_ bytes: UnsafeRawBufferPointer, key: Int) -> String? {
        guard bytes.count >= 9 else { return "value of \(bytes.count) bytes is shorter than its header" }
        let storedKey = Int(bytes[0]) | Int(bytes[1]) << 8
        guard storedKey == key else { return "value of key \(storedKey) found under key \(key)" }
        let thread = Int(bytes[2])
        let sequence = Int(bytes.loadUnaligned(fromByteOffset: 3, as: UInt32.self))
        let length = Int(bytes[7]) | Int(bytes[8]) << 8
        guard bytes.count == 9 + length else { return "value of key \(key) has \(bytes.count) bytes, header says \(9 + length)" }
        for index in 0..<length where bytes[9 + index] != filler(key: key, thread: thread, sequence: sequence, index: index) {
            return "value of key \(key) differs at byte \(9 + index)"
        }
        return nil
    }

    @Test func manyThreadsSeeOnlyWholeValuesOfTheirOwnKey() throws {
        let test = TestHotTier(hotTierLimits(pageBytes: 4_096, pageCount: 12, stripeCount: 8, bytesPerIndexBucket: 256, rebalanceEvictedPages: 1, cachePercentMax: 30))
        let tier = test.tier
        let problems = Lock<[String]>([])
        let versions = Atomic<UInt64>(1)
        let busyCount = Atomic<Int>(0)
        let operationsPerThread = 6_000
        runThreads(8) { thread in
            var random = SeededGenerator(seed: UInt64(thread + 1))
            func record(_ problem: String) { problems.withLock { if $0.count < 20 { $0.append(problem) } } }
            for sequence in 0..<operationsPerThread {
                let key = Int.random(in: 0..<Self.keyCount, using: &random)
                let name = key % 2 == 0 ? agent : otherAgent
                let keyBytes = bytes("key-\(key)")
                do throws(EngramError) {
                    switch Int.random(in: 0..<100, using: &random) {
                    case 0..<40:
                        let length = Int.random(in: 0...600, using: &random)
                        let ttl = [nil, 0, 1, 2].randomElement(using: &random)!
                        try tier.put(namespace: name, key: keyBytes, value: Self.value(key: key, thread: thread, sequence: sequence, length: length), ttlSeconds: ttl)
                    case 40..<70:
                        if let value = try tier.get(namespace: name, key: keyBytes), let problem = value.withUnsafeBytes({ Self.problem($0, key: key) }) { record(problem) }
                    case 70..<80:
                        if let problem = try tier.withValue(namespace: name, key: keyBytes, { (value) throws(EngramError) in Self.problem(value, key: key) }) ?? nil { record(problem) }
                    case 80..<87:
                        try tier.delete(namespace: name, key: keyBytes)
                    case 87..<91:
                        try tier.touch(namespace: name, key: keyBytes, ttlSeconds: 1)
                    case 91..<96:
                        let lookup = try keyBytes.withBytes { (keyBytes) throws(EngramError) in
                            try tier.lookupLongTerm(namespace: name, key: keyBytes) { (_, value) throws(EngramError) in Self.problem(value, key: key) }
                        }
                        switch lookup {
                        case .hit(let problem): if let problem { record("cache: " + problem) }
                        case .miss(let generation):
                            let version = versions.add(1, ordering: .relaxed).newValue
                            let value = Self.value(key: key, thread: thread, sequence: sequence, length: Int.random(in: 0...300, using: &random))
                            keyBytes.withUnsafeBytes { keyBytes in
                                value.withUnsafeBytes { _ = tier.fillLongTerm(namespace: name, key: keyBytes, version: version, value: $0, generation: generation) }
                            }
                        }
                    case 96..<98:
                        tier.invalidateLongTerm(namespace: name, key: keyBytes)
                    case 98:
                        _ = tier.removeExpired(limit: 64)
                    default:
                        if thread == 0 { test.clock.advance(milliseconds: 700) }
                        _ = tier.statistics
                    }
                } catch {
                    if error.code == .busy { busyCount.add(1, ordering: .relaxed) } else { record("\(error)") }
                }
            }
        }
        #expect(problems.withLock { $0 } == [])
        #expect(busyCount.load(ordering: .relaxed) == 0)

        // Quiet now: every chunk in use is a linked item, and every item is whole.
        var linkedKeyValueBytes = 0
        for key in 0..<Self.keyCount {
            let name = key % 2 == 0 ? agent : otherAgent
            if let value = try tier.get(namespace: name, key: bytes("key-\(key)")) {
                #expect(value.withUnsafeBytes { Self.problem($0, key: key) } == nil)
                linkedKeyValueBytes += value.count + "key-\(key)".utf8.count
            }
            if let entry = cached(tier, name, "key-\(key)") {
                #expect(entry.bytes.withUnsafeBytes { Self.problem($0, key: key) } == nil)
                linkedKeyValueBytes += entry.bytes.count + "key-\(key)".utf8.count
            }
        }
        let statistics = tier.statistics
        #expect(statistics.classes.reduce(0) { $0 + $1.chunksInUse } == statistics.itemCount + statistics.longTermCache.itemCount)
        #expect(statistics.keyValueBytes == linkedKeyValueBytes)
        #expect(statistics.bytesInUse <= statistics.budgetBytes)
        #expect(statistics.classes.reduce(0) { $0 + $1.pageCount } + statistics.freePageCount == 12)
        #expect(statistics.evictionCount > 0)
        #expect(statistics.longTermCache.bytesInUse <= tier.cacheBytesMax + 8 * 4_096, "over the share by at most one chunk per thread")
    }

    @Test func concurrentPutsOfOneKeyLeaveExactlyOneItem() throws {
        let tier = TestHotTier(hotTierLimits(pageBytes: 4_096, pageCount: 4)).tier
        runThreads(4) { thread in
            for sequence in 0..<2_000 {
                try? tier.put(namespace: agent, key: bytes("key-1"), value: Self.value(key: 1, thread: thread, sequence: sequence, length: (sequence * 37) % 200))
            }
        }
        let value = try #require(try tier.get(namespace: agent, key: bytes("key-1")))
        #expect(value.withUnsafeBytes { Self.problem($0, key: 1) } == nil)
        let statistics = tier.statistics
        #expect(statistics.itemCount == 1)
        #expect(statistics.classes.reduce(0) { $0 + $1.chunksInUse } == 1)
    }
}
