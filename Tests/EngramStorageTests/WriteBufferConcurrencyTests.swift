@testable import EngramStorage
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Readers against the writer and the checkpoint thread at once (docs/STORAGE.md, "Write
/// buffers", "Views"): every read sees whole batches, never a state older than one it saw before,
/// and never a state older than a write acknowledged before it began, while checkpoints move the
/// buffers into LMDB under it.
@Suite struct WriteBufferConcurrencyTests {
    /// Puts every key of a group to the same value in one command, so one batch.
    struct GroupPut: WriteCommand {
        let keys: [[UInt8]]
        let value: [UInt8]
        var payloadByteCount: Int { keys.count * (value.count + 24) }

        func execute(in context: inout WriteContext) throws(EngramError) -> UInt64 {
            var version: UInt64 = 0
            for key in keys {
                version = context.nextVersion()
                try context.apply(LongTermPutOperation(namespace: crm, key: key, version: version, value: value))
            }
            return version
        }
    }

    static let keys: [[UInt8]] = (0..<8).map { bytes("group-\($0)") }

    static func value(_ number: UInt64) -> [UInt8] { withUnsafeBytes(of: number.bigEndian) { Array($0) } + [UInt8](repeating: 0xAB, count: 200) }

    static func number(_ value: [UInt8]) -> UInt64 { value.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }

    /// Scans the group until `done` (and at least 50 times), checking each read.
    static func read(_ store: EngramStore, acknowledged: borrowing Atomic<UInt64>, until done: borrowing Atomic<Bool>) -> (reads: Int, problems: [String]) {
        var reads = 0
        var problems: [String] = []
        var lastSeen: UInt64 = 0
        while !done.load(ordering: .acquiring) || reads < 50 {
            let floor = acknowledged.load(ordering: .acquiring)
            reads += 1
            guard let page = try? store.longTermScan(namespace: crm, prefix: bytes("group-"), limit: 100) else {
                problems.append("read \(reads) failed")
                break
            }
            let numbers = Set(page.entries.map { number($0.value) })
            if page.entries.count != keys.count || numbers.count != 1 {
                problems.append("read \(reads) saw \(page.entries.count) keys holding \(numbers.sorted())")
            } else {
                let seen = numbers.first!
                if seen < lastSeen { problems.append("read \(reads) saw \(seen) after \(lastSeen)") }
                if seen < floor { problems.append("read \(reads) saw \(seen), older than the acknowledged \(floor)") }
                lastSeen = seen
            }
            if problems.count > 10 { break }
            usleep(200)
        }
        return (reads, problems)
    }

    @Test func readsSeeWholeBatchesWhileCheckpointsRun() async throws {
        var limits = quietLimits()
        // A checkpoint every few writes, so reads meet every kind of moment.
        limits.writeBufferBytesMax = 16 << 10
        limits.checkpointIntervalMilliseconds = 1
        let writeCount: UInt64 = 600
        try await withStore(limits: limits) { store, _ in
            _ = try await store.write(GroupPut(keys: Self.keys, value: Self.value(0)))
            let acknowledged = Atomic<UInt64>(0)
            let done = Atomic<Bool>(false)
            // The reader runs on a thread of its own, not the cooperative pool the other tests
            // share, and rests 200 µs between reads so that it takes a core's share, not all of it.
            let reader = Task {
                await withCheckedContinuation { (continuation: CheckedContinuation<(reads: Int, problems: [String]), Never>) in
                    startThread(name: "concurrency-test-reader") {
                        continuation.resume(returning: Self.read(store, acknowledged: acknowledged, until: done))
                    }
                }
            }
            for number in 1...writeCount {
                _ = try await store.write(GroupPut(keys: Self.keys, value: Self.value(number)))
                acknowledged.store(number, ordering: .releasing)
            }
            done.store(true, ordering: .releasing)
            let result = await reader.value
            #expect(result.problems.isEmpty, "\(result.problems)")
            #expect(result.reads >= 50)
            #expect(store.statistics.checkpointCount > 20, "too few checkpoints ran to test anything: \(store.statistics.checkpointCount)")
            let final = try store.longTermScan(namespace: crm, prefix: bytes("group-"), limit: 100)
            #expect(final.entries.map { Self.number($0.value) } == [UInt64](repeating: writeCount, count: Self.keys.count))
        }
    }
}
