@testable import EngramStorage
import Synchronization
import Testing

@Suite struct GroupCommitWriterTests {
    @Test func writesQueuedWhileTheWriterIsBusyFormOneBatch() async throws {
        try await withStore { store, _ in
            let gate = BlockingCommand.Gate()
            defer { gate.open() }
            let blocker = Task { try await store.write(BlockingCommand(gate: gate)) }
            try await gate.waitUntilEntered()
            let before = store.statistics
            let queued = Lock(0)
            try await withThrowingTaskGroup(of: UInt64.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: bytes("v")))
                    }
                }
                try await waitUntil { store.statistics.queueDepth >= 10 }
                queued.withLock { $0 = store.statistics.queueDepth }
                gate.open()
                var versions: [UInt64] = []
                for try await version in group { versions.append(version) }
                #expect(Set(versions).count == 10)
            }
            try await blocker.value
            let after = store.statistics
            #expect(queued.withLock { $0 } == 10)
            #expect(after.largestBatchCount == 10)
            #expect(after.batchCount - before.batchCount == 1, "the ten puts share one commit")
            #expect(after.syncCount - before.syncCount == 1, "and one fdatasync")
        }
    }

    @Test func aFullQueueAnswersBusyAtOnce() async throws {
        var limits = Limits()
        limits.writerQueueDepthMax = 4
        limits.batchCountMax = 2
        try await withStore(limits: limits) { store, _ in
            let gate = BlockingCommand.Gate()
            defer { gate.open() }
            let blocker = Task { try await store.write(BlockingCommand(gate: gate)) }
            try await gate.waitUntilEntered()
            let waiting = (0..<4).map { index in
                Task { try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: [])) }
            }
            try await waitUntil { store.statistics.queueDepth >= 4 }
            let rejected = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("extra"), value: [])) }
            #expect(rejected == EngramError(.busy, "the writer queue is full (4 writes); retry shortly"))
            #expect(store.statistics.busyRejectionCount == 1)
            gate.open()
            try await blocker.value
            for task in waiting { _ = try await task.value }
            let extra = try await store.write(LongTermPut(namespace: crm, key: bytes("extra"), value: []))
            #expect(extra > 0)
        }
    }

    @Test func aFailedPreconditionFailsOnlyItsOwnWrite() async throws {
        try await withStore { store, _ in
            let gate = BlockingCommand.Gate()
            defer { gate.open() }
            let blocker = Task { try await store.write(BlockingCommand(gate: gate)) }
            try await gate.waitUntilEntered()
            let good = Task { try await store.write(LongTermPut(namespace: crm, key: bytes("a"), value: bytes("1"))) }
            let conflicting = Task { try await store.write(LongTermPut(namespace: crm, key: bytes("b"), value: bytes("2"), expectedVersion: 99)) }
            let alsoGood = Task { try await store.write(LongTermPut(namespace: crm, key: bytes("c"), value: bytes("3"))) }
            try await waitUntil { store.statistics.queueDepth >= 3 }
            gate.open()
            try await blocker.value
            _ = try await good.value
            _ = try await alsoGood.value
            let error = await engramError { _ = try await conflicting.value }
            #expect(error?.code == .versionConflict)
            #expect(try store.longTermGet(namespace: crm, key: bytes("a"))?.bytes == bytes("1"))
            #expect(try store.longTermGet(namespace: crm, key: bytes("b")) == nil)
            #expect(try store.longTermGet(namespace: crm, key: bytes("c"))?.bytes == bytes("3"))
        }
    }

    @Test func appliedWritesAreSyncedWithinTheirDelay() async throws {
        var limits = Limits()
        limits.appliedSyncDelayMilliseconds = 20
        try await withStore(limits: limits) { store, _ in
            let before = store.statistics.syncCount
            // The completion runs on the writer thread, so the count it reads is the count at the
            // moment of acknowledgement.
            let syncsAtAcknowledgement = try await withCheckedThrowingContinuation { continuation in
                do {
                    try store.submit(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("v")), durability: .applied) { result in
                        continuation.resume(with: result.map { _ in store.statistics.syncCount })
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            #expect(syncsAtAcknowledgement == before, "acknowledged before any sync")
            #expect(try store.longTermGet(namespace: crm, key: bytes("k"))?.bytes == bytes("v"), "visible at once")
            var waited = 0
            while store.statistics.syncCount == before && waited < 5_000 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 10
            }
            #expect(store.statistics.syncCount == before + 1)
        }
    }

    @Test func writesAfterCloseAreRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path))
        store.close()
        let error = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: [])) }
        #expect(error == EngramError(.closed, "the store is closing"))
    }

    @Test func closeFinishesEveryQueuedWrite() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path))
        let gate = BlockingCommand.Gate()
        defer { gate.open() }
        let blocker = Task { try await store.write(BlockingCommand(gate: gate)) }
        try await gate.waitUntilEntered()
        let writes = (0..<20).map { index in
            Task { try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: bytes("\(index)"))) }
        }
        try await waitUntil { store.statistics.queueDepth >= 20 }
        let closer = Task.detached { store.close() }
        gate.open()
        await closer.value
        try await blocker.value
        for write in writes { _ = try await write.value }
        let reopened = try EngramStore.open(StoreConfiguration(directory: directory.path))
        defer { reopened.close() }
        for index in 0..<20 {
            #expect(try reopened.longTermGet(namespace: crm, key: bytes("k\(index)"))?.bytes == bytes("\(index)"))
        }
        #expect(reopened.recovery.recordsReplayed == 0, "close checkpointed everything")
    }
}
