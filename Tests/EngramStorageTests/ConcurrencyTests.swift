#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import Synchronization
import Testing

/// Many writer tasks and reader threads at once: readers never see a torn value, a key's version
/// never goes backwards for a reader, and at the end every key holds its last acknowledged write.
@Suite struct ConcurrencyTests {
    @Test func writersAndReadersTogether() async throws {
        try await withStore(limits: smallLimits()) { store, _ in
            let writers = 16
            let writesEach = 150
            let keysEach = 8
            let stop = Atomic<Bool>(false)
            let readerFailures = Lock<[String]>([])
            let readsDone = Atomic<Int>(0)
            // Readers run on their own OS threads, as NIO event loops would.
            var readers: [pthread_t] = []
            final class ReaderContext: @unchecked Sendable {
                let body: () -> Void
                init(_ body: @escaping () -> Void) { self.body = body }
            }
            for reader in 0..<4 {
                let context = ReaderContext {
                    var lastSeen: [String: UInt64] = [:]
                    var generator = SplitMix64(seed: UInt64(reader))
                    while !stop.load(ordering: .relaxed) {
                        let key = "w\(generator.next() % UInt64(writers))-k\(generator.next() % UInt64(keysEach))"
                        do {
                            if let value = try store.longTermGet(namespace: crm, key: Array(key.utf8)) {
                                if CrashValues.origin(of: value.bytes) == nil {
                                    readerFailures.withLock { $0.append("torn value at \(key)") }
                                }
                                if let previous = lastSeen[key], previous > value.version {
                                    readerFailures.withLock { $0.append("\(key) went back from \(previous) to \(value.version)") }
                                }
                                lastSeen[key] = value.version
                            }
                            if generator.next() % 16 == 0 {
                                _ = try store.longTermScan(namespace: crm, prefix: Array("w\(generator.next() % UInt64(writers))-".utf8), limit: 100)
                            }
                            readsDone.add(1, ordering: .relaxed)
                        } catch {
                            readerFailures.withLock { $0.append("read failed: \(error)") }
                        }
                    }
                }
                var thread = pthread_t()
                let box = Unmanaged.passRetained(context)
                pthread_create(&thread, nil, { argument in
                    let context = Unmanaged<ReaderContext>.fromOpaque(argument!).takeRetainedValue()
                    context.body()
                    return nil
                }, box.toOpaque())
                readers.append(thread)
            }

            let finals = try await withThrowingTaskGroup(of: [String: (UInt64, [UInt8])].self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var last: [String: (UInt64, [UInt8])] = [:]
                        for sequence in 0..<writesEach {
                            let key = "w\(writer)-k\(sequence % keysEach)"
                            let value = CrashValues.value(round: 0, task: writer, sequence: sequence)
                            let durability: Durability = sequence % 4 == 0 ? .applied : .durable
                            let version = try await store.write(LongTermPut(namespace: crm, key: Array(key.utf8), value: value), durability: durability)
                            if let previous = last[key] { #expect(version > previous.0) }
                            last[key] = (version, value)
                        }
                        return last
                    }
                }
                var merged: [String: (UInt64, [UInt8])] = [:]
                for try await part in group { merged.merge(part) { first, _ in first } }
                return merged
            }
            stop.store(true, ordering: .relaxed)
            for thread in readers { pthread_join(thread, nil) }

            #expect(readerFailures.withLock { $0 } == [])
            #expect(readsDone.load(ordering: .relaxed) > 0)
            #expect(finals.count == writers * keysEach)
            for (key, expected) in finals {
                #expect(try store.longTermGet(namespace: crm, key: Array(key.utf8)) == StoredValue(version: expected.0, bytes: expected.1))
            }
            let statistics = store.statistics
            #expect(statistics.writeCount == UInt64(writers * writesEach))
            #expect(statistics.failedWriteCount == 0)
            #expect(statistics.batchCount < statistics.writeCount, "concurrent writers share commits")
        }
    }
}
