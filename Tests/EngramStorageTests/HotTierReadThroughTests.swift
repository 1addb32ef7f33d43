#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import Synchronization
import Testing

/// The hot tier as the read-through cache of long-term memory, through the store: a read after
/// an acknowledged write never returns an older value (docs/HOT_TIER.md, "No stale read").
@Suite struct HotTierReadThroughTests {
    @Test func aMissFillsTheCacheAndTheNextReadHits() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("profile:acme"), value: bytes("enterprise")))
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:acme")) == StoredValue(version: 1, bytes: bytes("enterprise")))
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:acme")) == StoredValue(version: 1, bytes: bytes("enterprise")))
            #expect(try store.longTermGet(namespace: crm, key: bytes("profile:none")) == nil)
            let cache = store.hotTier.statistics.longTermCache
            #expect(cache.missCount == 2)
            #expect(cache.fillCount == 1)
            #expect(cache.hitCount == 1)
            #expect(cache.itemCount == 1)
            #expect(store.hotTier.statistics.itemCount == 0, "cache entries are not short-term items")
            #expect(try store.hotTier.get(namespace: crm, key: bytes("profile:acme")) == nil)
        }
    }

    @Test func anAcknowledgedPutOrDeleteDropsTheCachedValue() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("rule"), value: bytes("v1")))
            #expect(try store.longTermGet(namespace: crm, key: bytes("rule"))?.bytes == bytes("v1"))
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("rule"), value: bytes("v2")))
            #expect(try store.longTermGet(namespace: crm, key: bytes("rule")) == StoredValue(version: 2, bytes: bytes("v2")))
            #expect(try await store.write(LongTermDelete(namespace: crm, key: bytes("rule"))))
            #expect(try store.longTermGet(namespace: crm, key: bytes("rule")) == nil)
            let cache = store.hotTier.statistics.longTermCache
            #expect(cache.invalidationCount == 2)
            #expect(cache.itemCount == 0)
        }
    }

    @Test func aFailedCompareAndSetLeavesTheCacheAlone() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("v1")))
            _ = try store.longTermGet(namespace: crm, key: bytes("k"))
            let error = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("v2"), expectedVersion: 7)) }
            #expect(error?.code == .versionConflict)
            #expect(try store.longTermGet(namespace: crm, key: bytes("k")) == StoredValue(version: 1, bytes: bytes("v1")))
            #expect(store.hotTier.statistics.longTermCache.invalidationCount == 0)
            #expect(store.hotTier.statistics.longTermCache.hitCount == 1)
        }
    }

    /// The race, forced: the reader misses and reads version 1 from LMDB; before it fills the
    /// cache, a writer commits version 2 and is acknowledged; then the reader fills.
    @Test(arguments: [false, true])
    func aFillThatRacedAnAcknowledgedWriteIsRefused(deleting: Bool) async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("lead:7"), value: bytes("v1")))
            let acknowledged = Semaphore()
            let readerSaw = try bytes("lead:7").withBytes { (key) throws(EngramError) in
                try store.readThrough(namespace: crm, key: key, { (version, value) throws(EngramError) in StoredValue(version: version, bytes: Array(value)) }, beforeFill: {
                    do {
                        if deleting {
                            try store.submit(LongTermDelete(namespace: crm, key: bytes("lead:7"))) { _ in acknowledged.signal() }
                        } else {
                            try store.submit(LongTermPut(namespace: crm, key: bytes("lead:7"), value: bytes("v2"))) { _ in acknowledged.signal() }
                        }
                    } catch {
                        Issue.record("submit failed: \(error)")
                        acknowledged.signal()
                    }
                    acknowledged.wait()
                })
            }
            // The reader began before the write was acknowledged: it may return version 1.
            #expect(readerSaw == StoredValue(version: 1, bytes: bytes("v1")))
            let cache = store.hotTier.statistics.longTermCache
            #expect(cache.fillRefusedCount == 1)
            #expect(cache.fillCount == 0)
            // Every read after the acknowledgement sees the write.
            let after = try store.longTermGet(namespace: crm, key: bytes("lead:7"))
            #expect(after == (deleting ? nil : StoredValue(version: 2, bytes: bytes("v2"))))
            #expect(try store.longTermGet(namespace: crm, key: bytes("lead:7")) == after)
        }
    }

    /// One writer puts and deletes one key in turn, awaiting each acknowledgement; readers on
    /// other threads read it without pause. A read that starts after operation `a` was
    /// acknowledged must see the state after `a` or after a later operation.
    @Test func readersNeverSeeAValueOlderThanTheLastAcknowledgedWrite() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            let acknowledged = Atomic<Int>(0)
            let submitted = Atomic<Int>(0)
            let done = Atomic<Bool>(false)
            let problems = Lock<[String]>([])
            let readCount = Atomic<Int>(0)
            let operationCount = 300
            // Operation i puts "i" unless i is a multiple of 4, which deletes. State after i:
            @Sendable func isDelete(_ index: Int) -> Bool { index % 4 == 0 }
            @Sendable func state(after index: Int) -> Int? { isDelete(index) ? nil : index }
            // Whatever happens below, the readers stop (a write that throws must not leave them
            // spinning).
            defer { done.store(true, ordering: .releasing) }
            let readers = Task {
                await runThreadsWithoutBlocking(2) { _ in
                    while !done.load(ordering: .acquiring) {
                        let floor = acknowledged.load(ordering: .acquiring)
                        let read: StoredValue?
                        do { read = try store.longTermGet(namespace: crm, key: bytes("hot")) } catch {
                            problems.withLock { $0.append("\(error)") }
                            return
                        }
                        let ceiling = submitted.load(ordering: .acquiring)
                        readCount.add(1, ordering: .relaxed)
                        guard floor > 0 else { continue }
                        let seen = read.map { Int(String(decoding: $0.bytes, as: UTF8.self))! }
                        let valid: Bool
                        if let seen {
                            valid = seen >= floor || state(after: floor) == seen
                        } else {
                            valid = state(after: floor) == nil || (floor + 1...max(floor + 1, ceiling)).contains(where: isDelete)
                        }
                        if !valid { problems.withLock { if $0.count < 10 { $0.append("read \(String(describing: seen)) after operation \(floor) was acknowledged") } } }
                    }
                }
            }
            for index in 1...operationCount {
                submitted.store(index, ordering: .releasing)
                if isDelete(index) {
                    _ = try await store.write(LongTermDelete(namespace: crm, key: bytes("hot")))
                } else {
                    _ = try await store.write(LongTermPut(namespace: crm, key: bytes("hot"), value: bytes("\(index)")))
                }
                acknowledged.store(index, ordering: .releasing)
            }
            done.store(true, ordering: .releasing)
            await readers.value
            #expect(problems.withLock { $0 } == [])
            #expect(readCount.load(ordering: .relaxed) > operationCount)
            let cache = store.hotTier.statistics.longTermCache
            #expect(cache.hitCount > 0)
            #expect(cache.invalidationCount > 0)
        }
    }
}

/// A counting semaphore for tests that must block an OS thread (not a task) until signalled.
final class Semaphore: @unchecked Sendable {
    private let lock = ConditionLock()
    private var count = 0

    func signal() {
        lock.withLock {
            count += 1
            lock.signal()
        }
    }

    func wait() {
        lock.withLock {
            while count == 0 { lock.wait(untilNanoseconds: nil) }
            count -= 1
        }
    }
}
