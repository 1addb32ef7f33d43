@_spi(Testing) import EngramStorage
import FoundationEssentials
import Testing

/// Limits that make blocks and segments roll after a few episodes.
func episodicLimits() -> Limits {
    var limits = smallLimits()
    limits.episodicBlockBytes = 1 << 10
    limits.episodeBodyBytesMax = 512
    limits.episodicSegmentBytes = 8 << 10
    limits.episodicRetentionBytes = 8 << 10
    return limits
}

/// Bytes that do not compress, so blocks and segments fill at a known pace.
func noise(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
}

func episode(_ agent: String, kind: UInt16 = 1, _ text: String, lead: UUID? = nil, campaign: UUID? = nil) -> NewEpisode {
    NewEpisode(agent: agent, kind: kind, lead: lead, campaign: campaign, body: bytes(text))
}

@Suite struct EpisodicAppendTests {
    @Test func appendNumbersEpisodesPerAgentAndAcrossTheStore() async throws {
        try await withStore(limits: episodicLimits()) { store, _ in
            let lead = UUID()
            let first = try await store.write(EpisodeAppend(namespace: crm, episodes: [
                episode("triage-1", kind: 7, "scored 80", lead: lead),
                episode("mailer-1", kind: 9, "sent welcome"),
                episode("triage-1", kind: 7, "scored 85", lead: lead),
            ]))
            #expect(first.map(\.sequence) == [1, 1, 2])
            #expect(first.map(\.position) == [1, 2, 3])
            #expect(first[0].timestampMicroseconds <= first[2].timestampMicroseconds)
            let second = try await store.write(EpisodeAppend(namespace: billing, episodes: [episode("triage-1", "other namespace")]))
            #expect(second.map(\.sequence) == [1])
            #expect(second.map(\.position) == [4])

            let page = try store.episodes(namespace: crm, agent: "triage-1", limit: 10)
            #expect(page.next == nil)
            #expect(page.episodes == [
                Episode(agent: "triage-1", sequence: 1, timestampMicroseconds: first[0].timestampMicroseconds, position: 1, kind: 7, lead: lead, campaign: nil, body: bytes("scored 80")),
                Episode(agent: "triage-1", sequence: 2, timestampMicroseconds: first[2].timestampMicroseconds, position: 3, kind: 7, lead: lead, campaign: nil, body: bytes("scored 85")),
            ])
            #expect(try store.episodes(namespace: billing, agent: "triage-1", limit: 10).episodes.map(\.body) == [bytes("other namespace")])
            #expect(try store.episodes(namespace: crm, agent: "nobody", limit: 10).episodes.isEmpty)
        }
    }

    @Test func episodesSurviveReopenAcrossBlocksAndSegments() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StoreConfiguration(directory: directory.path, limits: episodicLimits())
        var receipts: [EpisodeReceipt] = []
        do {
            let store = try reopen(configuration)
            for round in 0..<40 {
                receipts += try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "a", kind: 1, body: noise(round * 12, seed: UInt64(round)))]))
            }
            store.close()
        }
        let store = try reopen(configuration)
        defer { store.close() }
        let page = try store.episodes(namespace: crm, agent: "a", limit: 100)
        #expect(page.episodes.map(\.sequence) == Array(1...40))
        #expect(page.episodes.map(\.timestampMicroseconds) == receipts.map(\.timestampMicroseconds))
        #expect(page.episodes.map(\.body) == (0..<40).map { noise($0 * 12, seed: UInt64($0)) })
        let names = try PosixFileSystem().contentsOfDirectory(directory.appending("episodic")).sorted()
        #expect(names.count > 1)
    }
}
