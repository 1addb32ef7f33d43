#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import Testing

@Suite struct RecoveryTests {
    /// `smallLimits()` without the timed checkpoint: these tests count the log records past a
    /// checkpoint, which a timer firing on a loaded machine would change.
    static func quietLimits() -> Limits {
        var limits = smallLimits()
        limits.checkpointIntervalMilliseconds = 3_600_000
        return limits
    }

    func open(_ directory: TemporaryDirectory, limits: Limits = quietLimits(), fileSystem: any FileSystem = PosixFileSystem()) throws -> EngramStore {
        try EngramStore.open(StoreConfiguration(directory: directory.path, limits: limits, fileSystem: fileSystem))
    }

    @Test func dataSurvivesACleanReopen() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var store = try open(directory)
        #expect(store.recovery.createdNew)
        let version = try await store.write(LongTermPut(namespace: crm, key: bytes("k"), value: bytes("v")))
        store.close()
        store = try open(directory)
        defer { store.close() }
        #expect(!store.recovery.createdNew)
        #expect(store.recovery.recordsReplayed == 0)
        #expect(try store.longTermGet(namespace: crm, key: bytes("k")) == StoredValue(version: version, bytes: bytes("v")))
        let next = try await store.write(LongTermPut(namespace: crm, key: bytes("k2"), value: []))
        #expect(next > version, "versions continue after a reopen")
    }

    @Test func aCrashReplaysTheLogPastTheCheckpoint() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        var versions: [UInt64] = []
        for index in 0..<50 {
            versions.append(try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: bytes("v\(index)"))))
        }
        _ = try await store.write(LongTermDelete(namespace: crm, key: bytes("k7")))
        store.simulateCrash()
        let reopened = try open(directory)
        defer { reopened.close() }
        #expect(reopened.recovery.recordsReplayed == 51)
        #expect(reopened.recovery.checkpointLSN == 0)
        for index in 0..<50 where index != 7 {
            #expect(try reopened.longTermGet(namespace: crm, key: bytes("k\(index)")) == StoredValue(version: versions[index], bytes: bytes("v\(index)")))
        }
        #expect(try reopened.longTermGet(namespace: crm, key: bytes("k7")) == nil)
        let after = try await reopened.write(LongTermPut(namespace: crm, key: bytes("new"), value: []))
        #expect(after > versions.max()!)
    }

    /// Issue 14: a crash during replay, then recovery again. In the layout before issue 14, replay
    /// committed each record to LMDB unsynced while only a pin-less restored checkpoint stood
    /// behind it, and LMDB reused the checkpointed tree's pages: the next open failed ("LMDB holds
    /// LSN 0 but the checkpoint names 300" before the fix). Now replay changes LMDB only by whole,
    /// synced checkpoints (here several, with small write buffers), so the interrupted replay
    /// leaves LMDB at one of them and the next open replays the rest.
    @Test func aCrashDuringReplayLeavesAStoreTheNextOpenRecovers() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let countA = 300
        let countB = 2_000
        func key(_ index: Int, _ suffix: String) -> [UInt8] { bytes("k" + String(String(index + 10_000).dropFirst()) + suffix) }
        func value(_ round: Int, _ index: Int) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: round * 7 + index), count: 500) }
        // The checkpointed tree holds the `a` keys; every record past the checkpoint inserts a `b`
        // key among them, so replay rewrites (and frees) the checkpointed leaves, and only the
        // checkpointed tree holds the `a` keys: replay never writes them again. There are enough
        // `b` records that replay uses up the pages free before the checkpoint.
        var limits = Self.quietLimits()
        limits.mapBytes = 256 << 20
        limits.checkpointLogBytes = 64 << 20
        var replayLimits = limits
        replayLimits.writeBufferBytesMax = 256 << 10
        let first = try open(directory, limits: limits)
        var versionsA: [UInt64] = []
        for index in 0..<countA { versionsA.append(try await first.write(LongTermPut(namespace: crm, key: key(index * countB / countA, "a"), value: value(1, index)))) }
        first.close()
        let second = try open(directory, limits: limits)
        #expect(second.recovery.recordsReplayed == 0)
        let checkpointsAtOpen = second.statistics.checkpointCount
        var versionsB: [UInt64] = []
        for index in 0..<countB { versionsB.append(try await second.write(LongTermPut(namespace: crm, key: key(index, "b"), value: value(2, index)))) }
        #expect(second.statistics.checkpointCount == checkpointsAtOpen, "a checkpoint past open's would leave less to replay")
        second.simulateCrash()

        var interrupted = StoreConfiguration(directory: directory.path, limits: replayLimits)
        interrupted.replayInterruptionRecordCount = countB * 3 / 4
        #expect(throws: EngramError(.closed, "recovery interrupted after replaying \(countB * 3 / 4) records (a test's simulated crash)")) {
            try EngramStore.open(interrupted).close()
        }

        let recovered = try open(directory, limits: replayLimits)
        defer { recovered.close() }
        #expect(recovered.recovery.checkpointLSN > second.recovery.checkpointLSN, "the interrupted replay checkpointed on the way")
        #expect(recovered.recovery.recordsReplayed + Int(recovered.recovery.checkpointLSN) == countB + Int(second.recovery.checkpointLSN))
        for index in 0..<countA {
            #expect(try recovered.longTermGet(namespace: crm, key: key(index * countB / countA, "a")) == StoredValue(version: versionsA[index], bytes: value(1, index)))
        }
        for index in 0..<countB {
            #expect(try recovered.longTermGet(namespace: crm, key: key(index, "b")) == StoredValue(version: versionsB[index], bytes: value(2, index)))
        }
        var scanned = 0
        var after: [UInt8]? = nil
        repeat {
            let page = try recovered.longTermScan(namespace: crm, after: after, limit: 1_000)
            scanned += page.entries.count
            after = page.resumeAfter
        } while after != nil
        #expect(scanned == countA + countB)
    }

    /// A power cut can leave LMDB's newer meta page naming pages that never reached the disk, and
    /// pages written after the checkpoint half-written. Recovery must not trust either: it writes
    /// the checkpointed meta pages back and replays the log.
    @Test func recoveryIgnoresLMDBStateNewerThanTheCheckpoint() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        for index in 0..<20 { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("before\(index)"), value: [UInt8](repeating: 1, count: 500))) }
        store.close()
        let checkpoint = try #require(try CheckpointFile.read(directory: directory.path, fileSystem: PosixFileSystem()))
        let store2 = try open(directory)
        for index in 0..<200 { _ = try await store2.write(LongTermPut(namespace: crm, key: bytes("after\(index)"), value: [UInt8](repeating: 2, count: 500))) }
        store2.simulateCrash()
        // The checkpoint taken at the second open is the one recovery will use; scribble over
        // both meta pages and every page beyond that checkpoint's last page.
        let current = try #require(try CheckpointFile.read(directory: directory.path, fileSystem: PosixFileSystem()))
        #expect(current.lsn == checkpoint.lsn)
        let lastPage = (0..<2).map { page in
            current.metaPages.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: page * current.pageBytes + 136, as: UInt64.self)) }
        }.max()!
        let data = try PosixFileSystem().open(directory.appending("lmdb/data.mdb"), create: false)
        let size = Int(try data.size())
        var generator = SplitMix64(seed: 3)
        let garbage = (0..<current.pageBytes).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try data.write(garbage, at: 0)
        try data.write(garbage, at: Int64(current.pageBytes))
        var page = lastPage + 1
        while page * current.pageBytes < size {
            try data.write(garbage, at: Int64(page * current.pageBytes))
            page += 1
        }
        data.close()
        let reopened = try open(directory)
        defer { reopened.close() }
        #expect(reopened.recovery.recordsReplayed == 200)
        for index in 0..<20 { #expect(try reopened.longTermGet(namespace: crm, key: bytes("before\(index)"))?.bytes == [UInt8](repeating: 1, count: 500)) }
        for index in 0..<200 { #expect(try reopened.longTermGet(namespace: crm, key: bytes("after\(index)"))?.bytes == [UInt8](repeating: 2, count: 500)) }
    }

    /// A checkpoint that fails after its LMDB commit (the sync of the data file or the checkpoint
    /// file failing) leaves the previous checkpoint file naming a snapshot that must stay whole:
    /// the commit could not reuse its pages, and the retry makes that commit durable before it
    /// commits again. A crash before the retry, and one after it, both recover every write.
    @Test(arguments: [false, true])
    func aCheckpointThatFailsAfterItsCommitLosesNothing(retryFirst: Bool) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var limits = Self.quietLimits()
        limits.checkpointRetryMilliseconds = retryFirst ? 10 : 3_600_000
        var configuration = StoreConfiguration(directory: directory.path, limits: limits)
        configuration.checkpointFailuresAfterCommit = 1
        let store = try EngramStore.open(configuration)
        var versions: [Int: UInt64] = [:]
        for index in 0..<300 { versions[index] = try await store.write(LongTermPut(namespace: crm, key: bytes("a\(index)"), value: [UInt8](repeating: 1, count: 400))) }
        let failed = await engramError { try store.checkpointNow() }
        #expect(failed?.message == "the checkpoint failed: a checkpoint failed after its commit (a test's simulated failure)")
        if retryFirst {
            // The retry makes the failed commit durable, and the next checkpoint commits again.
            try await waitUntil { store.writer.checkpointer.lastFailure == nil }
            for index in 300..<600 { versions[index] = try await store.write(LongTermPut(namespace: crm, key: bytes("a\(index)"), value: [UInt8](repeating: 2, count: 400))) }
            try store.checkpointNow()
        } else {
            #expect(await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("refused"), value: [])) }?.code == .io)
        }
        for index in 0..<300 { #expect(try store.longTermGet(namespace: crm, key: bytes("a\(index)"))?.version == versions[index], "reads go on") }
        store.simulateCrash()
        let reopened = try open(directory)
        defer { reopened.close() }
        for (index, version) in versions { #expect(try reopened.longTermGet(namespace: crm, key: bytes("a\(index)"))?.version == version) }
        #expect(try reopened.longTermScan(namespace: crm, prefix: bytes("a"), limit: 1_000).entries.count == versions.count)
    }

    @Test func powerLossKeepsEveryDurableWriteAndMayDropAppliedOnes() async throws {
        for seed in UInt64(0)..<8 {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let fileSystem = FaultInjectingFileSystem()
            var limits = faultLimits()
            limits.appliedSyncDelayMilliseconds = 60_000
            let store = try open(directory, limits: limits, fileSystem: fileSystem)
            var durable: [Int: UInt64] = [:]
            for index in 0..<40 {
                if index % 3 == 0 {
                    _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: bytes("applied\(index)")), durability: .applied)
                } else {
                    durable[index] = try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: bytes("durable\(index)")))
                }
            }
            // The last writes are applied-only and unsynced: a power cut may take them.
            for index in 40..<45 {
                _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k\(index)"), value: bytes("applied\(index)")), durability: .applied)
            }
            store.simulateCrash()
            try fileSystem.powerLoss(seed: seed, keepNone: seed == 0)
            let reopened = try open(directory, limits: limits, fileSystem: PosixFileSystem())
            defer { reopened.close() }
            for (index, version) in durable {
                #expect(try reopened.longTermGet(namespace: crm, key: bytes("k\(index)")) == StoredValue(version: version, bytes: bytes("durable\(index)")), "seed \(seed) key \(index)")
            }
            // An applied write that came before a durable one was synced with it.
            for index in stride(from: 0, to: 39, by: 3) {
                #expect(try reopened.longTermGet(namespace: crm, key: bytes("k\(index)"))?.bytes == bytes("applied\(index)"), "seed \(seed) key \(index)")
            }
            // The trailing applied writes are each either whole or absent, and a lost one means
            // every later one is lost too: the log is a prefix.
            let survivors = (40..<45).map { index in (try? reopened.longTermGet(namespace: crm, key: bytes("k\(index)")))??.bytes }
            for (offset, value) in survivors.enumerated() where value != nil {
                #expect(value == bytes("applied\(40 + offset)"))
            }
            let firstLost = survivors.firstIndex { $0 == nil } ?? survivors.count
            #expect(survivors[firstLost...].allSatisfy { $0 == nil }, "seed \(seed)")
            if seed == 0 { #expect(firstLost == 0, "with every unsynced write dropped, none survive") }
        }
    }

    @Test func aFullDiskFailsWritesCleanlyAndReadsGoOn() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        let store = try open(directory, limits: faultLimits(), fileSystem: fileSystem)
        defer { store.close() }
        let kept = try await store.write(LongTermPut(namespace: crm, key: bytes("kept"), value: bytes("safe")))
        fileSystem.failWrites(errno: ENOSPC)
        let error = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("new"), value: bytes("x"))) }
        #expect(error?.code == .noSpace)
        #expect(error?.errno == ENOSPC)
        #expect(try store.longTermGet(namespace: crm, key: bytes("new")) == nil, "nothing of the failed write is visible")
        #expect(try store.longTermGet(namespace: crm, key: bytes("kept")) == StoredValue(version: kept, bytes: bytes("safe")))
        fileSystem.heal()
        let later = try await store.write(LongTermPut(namespace: crm, key: bytes("new"), value: bytes("x")))
        #expect(try store.longTermGet(namespace: crm, key: bytes("new")) == StoredValue(version: later, bytes: bytes("x")))
    }

    @Test func aFailedSyncStopsWritesUntilARestart() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        let store = try open(directory, limits: faultLimits(), fileSystem: fileSystem)
        _ = try await store.write(LongTermPut(namespace: crm, key: bytes("before"), value: bytes("b")))
        fileSystem.failSyncs(errno: EIO)
        let failed = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("unknown"), value: bytes("u"))) }
        #expect(failed?.code == .io)
        #expect(failed?.message.contains("whether this batch is durable is unknown") == true)
        fileSystem.heal()
        let refused = await engramError { _ = try await store.write(LongTermPut(namespace: crm, key: bytes("after"), value: bytes("a"))) }
        #expect(refused?.code == .closed)
        #expect(try store.longTermGet(namespace: crm, key: bytes("before"))?.bytes == bytes("b"), "reads go on")
        #expect(try store.longTermGet(namespace: crm, key: bytes("unknown")) == nil, "an unsynced batch is not visible")
        store.simulateCrash()
        let reopened = try open(directory)
        defer { reopened.close() }
        #expect(try reopened.longTermGet(namespace: crm, key: bytes("before"))?.bytes == bytes("b"))
        _ = try await reopened.write(LongTermPut(namespace: crm, key: bytes("after"), value: bytes("a")))
    }

    @Test func aFullMapFailsTheWriteAndALargerMapTakesItLater() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var limits = Limits()
        limits.mapBytes = 16 << 20
        limits.batchBytesMax = 4 << 20
        limits.commitLogSegmentBytes = 8 << 20
        // A checkpoint every four writes: the one that meets the full map refuses what follows.
        limits.checkpointLogBytes = 2 << 20
        let store = try open(directory, limits: limits)
        var written = 0
        var failure: EngramError? = nil
        while failure == nil && written < 400 {
            do {
                _ = try await store.write(LongTermPut(namespace: crm, key: bytes("k\(written)"), value: [UInt8](repeating: UInt8(written), count: 512 << 10)))
                written += 1
            } catch {
                failure = error
            }
        }
        #expect(failure?.code == .mapFull)
        #expect(failure?.message.contains("restart with a larger map size") == true)
        #expect(written > 5)
        for index in 0..<written { #expect(try store.longTermGet(namespace: crm, key: bytes("k\(index)"))?.bytes.first == UInt8(index)) }
        store.close()
        limits.mapBytes = 256 << 20
        let larger = try open(directory, limits: limits)
        defer { larger.close() }
        _ = try await larger.write(LongTermPut(namespace: crm, key: bytes("k\(written)"), value: [UInt8](repeating: 1, count: 512 << 10)))
        for index in 0...written { #expect(try larger.longTermGet(namespace: crm, key: bytes("k\(index)")) != nil) }
    }

    @Test func aSecondOpenOfTheSameDirectoryIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        defer { store.close() }
        #expect(throws: EngramError(.busy, "the data directory \(directory.path) is open in another process")) { _ = try open(directory) }
    }

    @Test func aBatchVoidedByARollbackRecordIsNotReplayed() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try open(directory).close()
        // Append records by hand: batch 1 puts a, batch 2 puts b, a rollback voids 2, batch 4 puts c.
        let logDirectory = directory.appending("log")
        let recovery = try CommitLog.recover(directory: logDirectory, fileSystem: PosixFileSystem(), segmentBytes: 1 << 20, recordBytesMax: 1 << 20, appliedLSN: 0) { _ in }
        let log = recovery.log
        for (kind, body) in [(CommitLogFormat.Kind.batch, batch(put: "a", version: 1)), (.batch, batch(put: "b", version: 2)), (.rollback, rollback(2)), (.batch, batch(put: "c", version: 3))] {
            var buffer = ByteWriter()
            buffer.reserve(CommitLogFormat.headerBytes)
            buffer.write(contentsOf: body)
            try log.append(kind: kind, buffer: &buffer)
        }
        try log.sync()
        log.close()
        let store = try open(directory)
        defer { store.close() }
        #expect(store.recovery.batchesRolledBack == 1)
        #expect(store.recovery.recordsReplayed == 4)
        #expect(try store.longTermGet(namespace: crm, key: bytes("a")) == StoredValue(version: 1, bytes: bytes("a")))
        #expect(try store.longTermGet(namespace: crm, key: bytes("b")) == nil)
        #expect(try store.longTermGet(namespace: crm, key: bytes("c")) == StoredValue(version: 3, bytes: bytes("c")))
        #expect(store.statistics.lastAppliedLSN == 4)
        let next = try await store.write(LongTermPut(namespace: crm, key: bytes("d"), value: []))
        #expect(next == 4)
    }

    func batch(put key: String, version: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(Int64(1_700_000_000_000_000))
        writer.write(UInt32(1))
        writer.write(RedoOpcode.longTermPut.rawValue)
        var body = ByteWriter()
        LongTermPutOperation(namespace: crm, key: bytes(key), version: version, value: bytes(key)).encode(into: &body)
        writer.write(UInt32(body.count))
        writer.write(contentsOf: body.bytes)
        return writer.bytes
    }

    func rollback(_ lsn: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.write(lsn)
        return writer.bytes
    }

    @Test func aDamagedCheckpointRefusesToOpen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try open(directory).close()
        let path = directory.appending("checkpoint")
        let handle = try PosixFileSystem().open(path, create: false)
        var byte = try handle.read(byteCount: 1, at: 20)
        byte[0] ^= 0x40
        try handle.write(byte, at: 20)
        handle.close()
        let error = #expect(throws: EngramError.self) { _ = try open(directory) }
        #expect(error?.code == .corrupt)
        #expect(error?.file == path)
        #expect(error?.message.hasPrefix("checkpoint checksum mismatch") == true)
    }

    @Test func aLogWithoutACheckpointIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try open(directory).close()
        let store = try open(directory)
        store.simulateCrash()
        try PosixFileSystem().remove(directory.appending("checkpoint"))
        // The last open left a fresh, empty segment; give it a record.
        let recovery = try CommitLog.recover(directory: directory.appending("log"), fileSystem: PosixFileSystem(), segmentBytes: 1 << 20, recordBytesMax: 1 << 20, appliedLSN: 0) { _ in }
        var buffer = ByteWriter()
        buffer.reserve(CommitLogFormat.headerBytes)
        buffer.write(contentsOf: batch(put: "a", version: 1))
        try recovery.log.append(kind: .batch, buffer: &buffer)
        try recovery.log.sync()
        recovery.log.close()
        let error = #expect(throws: EngramError.self) { _ = try open(directory) }
        #expect(error?.message == "the commit log holds records but the checkpoint file is missing")
    }
}
