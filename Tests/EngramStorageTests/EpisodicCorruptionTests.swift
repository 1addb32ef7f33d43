@testable import EngramStorage
import FoundationEssentials
import Testing

/// The corruption matrix (docs/EPISODIC.md, "Recovery"): one test per kind of damage, each with
/// its documented outcome. Damage inside the checkpointed part makes reads of that block fail
/// with `.corrupt` at the block's file and offset, and nothing else; damage past the checkpoint is
/// cut at open, reported, and repaired by the log replay.
@Suite struct EpisodicCorruptionTests {
    /// Agent `agent-i` gets batch i: eight episodes whose bodies are text around 16 random bytes
    /// (so the random bytes sit as literals in the LZ4 stream, where a test can find them).
    static func batch(_ index: Int) -> [NewEpisode] {
        (0..<8).map { item in
            NewEpisode(agent: "agent-\(index)", kind: UInt16(item), body: bytes("opened email \(item) of campaign spring; ") + noise(16, seed: UInt64(index * 100 + item)) + bytes(" utm_source=newsletter"))
        }
    }

    struct Written {
        var episodes: [String: [Episode]] = [:]

        mutating func add(_ batch: [NewEpisode], _ receipts: [EpisodeReceipt]) {
            for (episode, receipt) in zip(batch, receipts) {
                episodes[episode.agent, default: []].append(Episode(agent: episode.agent, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, position: receipt.position, kind: episode.kind, lead: nil, campaign: nil, body: episode.body))
            }
        }
    }

    static func append(_ store: EngramStore, batches: Range<Int>, into written: inout Written) async throws {
        for index in batches {
            let episodes = batch(index)
            written.add(episodes, try await store.write(EpisodeAppend(namespace: crm, episodes: episodes)))
        }
    }

    /// Writes `batches` and closes cleanly: everything is checkpointed.
    static func checkpointedStore(_ directory: TemporaryDirectory, batches: Int = 12) async throws -> Written {
        var written = Written()
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        try await append(store, batches: 0..<batches, into: &written)
        store.close()
        return written
    }

    /// The agents with at least one record in `block`.
    static func agents(in file: [UInt8], _ block: SegmentFiles.Block) -> Set<String> {
        let raw = SegmentFiles.raw(file, block)
        return Set(SegmentFiles.recordOffsets(raw).map { offset in
            let namespaceBytes = Int(raw[offset + 35])
            let agentBytes = Int(raw[offset + 36])
            return String(decoding: raw[(offset + 37 + namespaceBytes)..<(offset + 37 + namespaceBytes + agentBytes)], as: UTF8.self)
        })
    }

    /// Reopens and checks: agents with a record in the damaged block fail with `.corrupt` at its
    /// file and offset, whose message contains `reason`; every other agent reads exactly; the
    /// verify pass lists exactly that block.
    static func expectOnlyBlockDamaged(_ directory: TemporaryDirectory, written: Written, path: String, block: SegmentFiles.Block, damagedAgents: Set<String>, reason: String) throws {
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        defer { store.close() }
        #expect(!damagedAgents.isEmpty)
        for (agent, episodes) in written.episodes {
            if damagedAgents.contains(agent) {
                let error = #expect(throws: EngramError.self) { try store.episodes(namespace: crm, agent: agent, limit: 100) }
                #expect(error?.code == .corrupt)
                #expect(error?.file == path)
                #expect(error?.offset == Int64(block.offset))
                #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
            } else {
                #expect(try store.episodes(namespace: crm, agent: agent, limit: 100).episodes == episodes)
            }
        }
        let damage = try store.verifyEpisodes()
        #expect(damage.map(\.file) == [path])
        #expect(damage.map(\.offset) == [Int64(block.offset)])
    }

    /// A middle block of the first segment, after a clean close.
    static func middleBlock(_ directory: TemporaryDirectory) throws -> (path: String, file: [UInt8], block: SegmentFiles.Block) {
        let path = SegmentFiles.path(directory, try SegmentFiles.names(directory)[0])
        let file = try SegmentFiles.read(path)
        let blocks = SegmentFiles.blocks(file)
        #expect(blocks.count >= 3)
        return (path, file, blocks[blocks.count / 2])
    }

    @Test func flippedByteInACompressedBlockFailsReadsOfThatBlockOnly() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let written = try await Self.checkpointedStore(directory)
        var (path, file, block) = try Self.middleBlock(directory)
        #expect(block.codec == 1, "the block must be LZ4-compressed")
        let agents = Self.agents(in: file, block)
        file[block.offset + 32 + block.storedBytes / 2] ^= 0x40
        try SegmentFiles.write(path, file)
        try Self.expectOnlyBlockDamaged(directory, written: written, path: path, block: block, damagedAgents: agents, reason: "block: checksum mismatch")
    }

    @Test func flippedByteInARecordHeaderIsCaughtByTheRecordChecksum() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let written = try await Self.checkpointedStore(directory)
        var (path, file, block) = try Self.middleBlock(directory)
        let agents = Self.agents(in: file, block)
        let raw = SegmentFiles.raw(file, block)
        // Each record starts with its own checksum: four random bytes, stored as LZ4 literals.
        let recordCRC = SegmentFiles.recordOffsets(raw).lazy.map { Array(raw[$0..<($0 + 4)]) }.first { SegmentFiles.uniqueOccurrence(of: $0, in: file, block) != nil }
        let at = try #require(recordCRC.flatMap { SegmentFiles.uniqueOccurrence(of: $0, in: file, block) })
        file[at + 1] ^= 0x01
        SegmentFiles.resealBlock(&file, block)
        try SegmentFiles.write(path, file)
        try Self.expectOnlyBlockDamaged(directory, written: written, path: path, block: block, damagedAgents: agents, reason: "checksum mismatch")
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        defer { store.close() }
        #expect(try store.verifyEpisodes().first?.message.hasPrefix("record at byte") == true)
    }

    @Test func flippedByteInAPayloadIsCaughtByTheRecordChecksum() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let written = try await Self.checkpointedStore(directory)
        var (path, file, block) = try Self.middleBlock(directory)
        let raw = SegmentFiles.raw(file, block)
        let record = SegmentFiles.recordOffsets(raw)[1]
        let length = 8 + Int(SegmentFiles.u32(raw, record + 4))
        // The 16 random bytes in the body, 22 bytes before the record's end.
        let randomBytes = Array(raw[(record + length - 38)..<(record + length - 22)])
        let at = try #require(SegmentFiles.uniqueOccurrence(of: randomBytes, in: file, block))
        file[at + 5] ^= 0x80
        SegmentFiles.resealBlock(&file, block)
        try SegmentFiles.write(path, file)
        let agent = String(decoding: raw[(record + 40)..<(record + 40 + Int(raw[record + 36]))], as: UTF8.self)
        try Self.expectOnlyBlockDamaged(directory, written: written, path: path, block: block, damagedAgents: Self.agents(in: file, block), reason: "record at byte \(record) of its block: checksum mismatch")
        #expect(agent.hasPrefix("agent-"))
    }

    @Test(arguments: [false, true])
    func unknownFormatVersionRefusesToOpen(activeSegment: Bool) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try await Self.checkpointedStore(directory, batches: 24)
        let names = try SegmentFiles.names(directory)
        #expect(names.count >= 2)
        let path = SegmentFiles.path(directory, activeSegment ? names.last! : names[0])
        var file = try SegmentFiles.read(path)
        SegmentFiles.store(2, in: &file, at: 8)
        let crc = file.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        SegmentFiles.store(CRC32C.mask(crc), in: &file, at: 60)
        try SegmentFiles.write(path, file)
        let error = #expect(throws: EngramError.self) { try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits())) }
        #expect(error?.code == .corrupt)
        #expect(error?.file == path)
        #expect(error?.offset == 8)
        #expect(error?.message.contains("unknown episodic segment format version 2") == true)
        #expect(try SegmentFiles.read(path) == file, "the store must not touch a file it cannot read")
    }
}
