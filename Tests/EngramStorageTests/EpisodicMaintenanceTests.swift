@testable import EngramStorage
import FoundationEssentials
import Testing

@Suite struct EpisodicMaintenanceTests {
    /// Appends incompressible episodes for four agents until there are `segments` segment files.
    static func fill(_ store: EngramStore, _ directory: TemporaryDirectory, segments: Int, compressible: Bool = false) async throws -> [Episode] {
        var written: [Episode] = []
        var round = 0
        while try SegmentFiles.names(directory).count < segments {
            let body = compressible ? bytes("clicked https://example.com/pricing?utm_source=newsletter&utm_campaign=spring round \(round % 7) ") : noise(300, seed: UInt64(round))
            let new = NewEpisode(agent: "agent-\(round % 4)", kind: UInt16(round % 3), body: body)
            let receipt = try await store.write(EpisodeAppend(namespace: crm, episodes: [new]))[0]
            written.append(Episode(agent: new.agent, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, position: receipt.position, kind: new.kind, lead: nil, campaign: nil, body: body))
            round += 1
        }
        return written
    }

    static func readAll(_ store: EngramStore, agents: Int = 4) throws -> [Episode] {
        var all: [Episode] = []
        for agent in 0..<agents {
            all += try store.episodes(namespace: crm, agent: "agent-\(agent)", limit: 10_000).episodes
        }
        return all.sorted { $0.position < $1.position }
    }

    @Test func retentionByBytesRemovesTheOldestWholeSegments() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StoreConfiguration(directory: directory.path, limits: episodicLimits())
        let store = try EngramStore.open(configuration)
        let written = try await Self.fill(store, directory, segments: 5)
        let before = try SegmentFiles.names(directory)
        let outcome = try await store.enforceEpisodicRetention()
        let after = try SegmentFiles.names(directory)
        // 8 KiB of retention keeps the active segment and at most one sealed one.
        #expect(outcome.segmentCount == before.count - after.count)
        #expect(outcome.segmentCount >= 3)
        #expect(after == Array(before.suffix(after.count)))
        let firstKept = try SegmentFiles.read(SegmentFiles.path(directory, after[0])).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self)) }
        #expect(try Self.readAll(store) == written.filter { $0.position >= firstKept })
        #expect(try store.scanEpisodes(namespace: crm, from: 1, limit: 10_000).episodes == written.filter { $0.position >= firstKept })
        #expect(try store.verifyEpisodes().isEmpty)
        let next = try await store.write(EpisodeAppend(namespace: crm, episodes: [episode("agent-0", "after retention")]))
        #expect(next[0].sequence == UInt64(written.filter { $0.agent == "agent-0" }.count) + 1, "sequences are never reused")
        store.close()
        let reopened = try EngramStore.open(configuration)
        defer { reopened.close() }
        #expect(try SegmentFiles.names(directory) == after)
        #expect(try Self.readAll(reopened).count == written.filter { $0.position >= firstKept }.count + 1)
    }

    @Test func retentionByAgeKeepsOnlyTheActiveSegment() async throws {
        try await withStore(limits: episodicLimits()) { store, directory in
            let written = try await Self.fill(store, directory, segments: 3)
            let outcome = try await store.enforceEpisodicRetention(nowMicroseconds: written.last!.timestampMicroseconds + 100 * 86_400 * 1_000_000)
            #expect(outcome.segmentCount == 2)
            #expect(try SegmentFiles.names(directory).count == 1)
            let kept = try Self.readAll(store)
            #expect(kept == Array(written.suffix(kept.count)))
            #expect(try await store.enforceEpisodicRetention(nowMicroseconds: written.last!.timestampMicroseconds).segmentCount == 0)
        }
    }

    @Test func recompressionKeepsEveryEpisodeAndSurvivesACrash() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var limits = episodicLimits()
        limits.episodicRetentionBytes = 1 << 30
        let configuration = StoreConfiguration(directory: directory.path, limits: limits)
        let store = try EngramStore.open(configuration)
        let written = try await Self.fill(store, directory, segments: 3, compressible: true)
        let outcome = try await store.recompressEpisodicSegments(level: 3)
        #expect(outcome.segmentCount == 2)
        #expect(outcome.bytesAfter < outcome.bytesBefore)
        let names = try SegmentFiles.names(directory)
        #expect(names.filter { $0.hasSuffix("-1.seg") }.count == 2)
        #expect(names.filter { $0.hasSuffix("-0.seg") }.count == 1)
        let codecs = Set(try names.filter { $0.hasSuffix("-1.seg") }.flatMap { SegmentFiles.blocks(try SegmentFiles.read(SegmentFiles.path(directory, $0))).map(\.codec) })
        #expect(codecs == [2])
        #expect(try Self.readAll(store) == written)
        #expect(try await store.recompressEpisodicSegments(level: 3).segmentCount == 0)
        store.simulateCrash()
        let reopened = try EngramStore.open(configuration)
        defer { reopened.close() }
        #expect(try SegmentFiles.names(directory) == names)
        #expect(try Self.readAll(reopened) == written)
        #expect(try reopened.verifyEpisodes().isEmpty)
    }
}
