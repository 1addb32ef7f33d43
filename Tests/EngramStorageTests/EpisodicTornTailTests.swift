@testable import EngramStorage
import FoundationEssentials
import Testing

/// The tail of the corruption matrix: damage past the checkpointed end, as a crash leaves it. Open
/// cuts it, reports the cut (file, offset, bytes), and the log replay brings back every
/// acknowledged episode exactly.
@Suite struct EpisodicTornTailTests {
    /// A crashed store: twelve batches checkpointed by a clean close, then twelve more appended
    /// and the process "killed" (no final checkpoint). Returns what was acknowledged.
    static func crashedStore(_ directory: TemporaryDirectory) async throws -> EpisodicCorruptionTests.Written {
        var written = try await EpisodicCorruptionTests.checkpointedStore(directory)
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        try await EpisodicCorruptionTests.append(store, batches: 12..<24, into: &written)
        // Three large compressible episodes around a small one: the last block sealed into the
        // file is then just the second large one and the small one, a short block whose every
        // offset a test can cut at.
        let large = bytes(String(repeating: "clicked the pricing page from the spring newsletter; ", count: 9))
        for body in [large, large, bytes("tiny"), large] {
            let new = NewEpisode(agent: "agent-tail", kind: 5, body: body)
            written.add([new], try await store.write(EpisodeAppend(namespace: crm, episodes: [new])))
        }
        store.simulateCrash()
        return written
    }

    static func expectEverything(_ store: EngramStore, _ written: EpisodicCorruptionTests.Written) throws {
        for (agent, episodes) in written.episodes {
            #expect(try store.episodes(namespace: crm, agent: agent, limit: 100).episodes == episodes, "agent \(agent)")
        }
        #expect(try store.verifyEpisodes().isEmpty)
    }

    /// The last segment file and its last block, which the crash left unsynced past the checkpoint.
    static func lastBlock(_ directory: TemporaryDirectory) throws -> (path: String, file: [UInt8], block: SegmentFiles.Block) {
        let path = SegmentFiles.path(directory, try SegmentFiles.names(directory).last!)
        let file = try SegmentFiles.read(path)
        let block = try #require(SegmentFiles.blocks(file).last)
        return (path, file, block)
    }

    @Test func recoveryWithoutDamageReportsNoCut() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let written = try await Self.crashedStore(directory)
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        defer { store.close() }
        #expect(store.recovery.episodicTailCuts == [])
        #expect(store.recovery.episodicDamage == [])
        #expect(store.recovery.recordsReplayed == 16)
        try Self.expectEverything(store, written)
    }

    @Test func truncatedAtEveryOffsetOfTheLastBlock() async throws {
        let original = TemporaryDirectory()
        defer { original.remove() }
        let written = try await Self.crashedStore(original)
        let (_, file, block) = try Self.lastBlock(original)
        let name = try SegmentFiles.names(original).last!
        #expect(block.end - block.offset > 40)
        #expect(block.end - block.offset < 200, "the last block is the short one")
        for cut in block.offset..<block.end {
            let directory = try SegmentFiles.copy(original)
            defer { directory.remove() }
            let path = SegmentFiles.path(directory, name)
            try SegmentFiles.truncate(path, to: cut)
            let events = EventLog()
            let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits(), eventHandler: events.record))
            defer { store.close() }
            let kept = file[block.offset..<cut]
            if let lastNonZero = kept.lastIndex(where: { $0 != 0 }) {
                let reported = store.recovery.episodicTailCuts
                #expect(reported.count == 1, "cut at \(cut)")
                #expect(reported.first?.file == path)
                #expect(reported.first?.offset == Int64(block.offset))
                #expect(reported.first?.byteCount == Int64(lastNonZero + 1 - block.offset), "cut at \(cut)")
                #expect(events.events == reported.map { StoreEvent.episodicTailCut($0) } + [events.events.last!])
            } else {
                #expect(store.recovery.episodicTailCuts == [], "cut at \(cut)")
            }
            try Self.expectEverything(store, written)
        }
    }

    @Test func zeroFilledTailIsACleanEnd() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let written = try await Self.crashedStore(directory)
        var (path, file, block) = try Self.lastBlock(directory)
        for index in block.offset..<block.end { file[index] = 0 }
        try SegmentFiles.write(path, file)
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        defer { store.close() }
        #expect(store.recovery.episodicTailCuts == [])
        try Self.expectEverything(store, written)
    }

    @Test func zeroFilledBlockBodyIsCutAtTheBlock() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let written = try await Self.crashedStore(directory)
        var (path, file, block) = try Self.lastBlock(directory)
        let original = file
        for index in (block.offset + 32)..<block.end { file[index] = 0 }
        try SegmentFiles.write(path, file)
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        defer { store.close() }
        let cut = try #require(store.recovery.episodicTailCuts.first)
        #expect(store.recovery.episodicTailCuts.count == 1)
        #expect(cut.file == path)
        #expect(cut.offset == Int64(block.offset))
        #expect(cut.byteCount == Int64(file[block.offset..<(block.offset + 32)].lastIndex { $0 != 0 }! + 1 - block.offset))
        #expect(cut.reason.contains("checksum mismatch"))
        try Self.expectEverything(store, written)
        #expect(Array(try SegmentFiles.read(path)[block.offset..<block.end]) == Array(original[block.offset..<block.end]), "replay writes the cut block again")
    }

    @Test func replayRewritesTheTailByteForByte() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.crashedStore(directory)
        let names = try SegmentFiles.names(directory)
        let before = try names.map { SegmentFiles.blocks(try SegmentFiles.read(SegmentFiles.path(directory, $0))).count }
        let files = try names.map { try SegmentFiles.read(SegmentFiles.path(directory, $0)) }
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        store.close()
        #expect(try SegmentFiles.names(directory) == names)
        for (index, name) in names.enumerated() {
            let after = try SegmentFiles.read(SegmentFiles.path(directory, name))
            let end = SegmentFiles.blocks(files[index]).last.map(\.end) ?? 64
            #expect(SegmentFiles.blocks(after).count >= before[index])
            #expect(Array(after.prefix(end)) == Array(files[index].prefix(end)), "segment \(name) must be rewritten with the same bytes")
        }
    }
}

/// Collects store events from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLockLike()
    private var stored: [StoreEvent] = []

    var events: [StoreEvent] { lock.withLock { stored } }

    func record(_ event: StoreEvent) { lock.withLock { stored.append(event) } }
}

import Synchronization

/// A small mutex for test helpers.
final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func withLock<Result>(_ body: () -> Result) -> Result { mutex.withLock { _ in body() } }
}
