import EngramStorage
import FoundationEssentials
import Testing

@Suite struct EpisodicFollowTests {
    @Test func followerYieldsCommittedEpisodesInOrderWithFilters() async throws {
        var limits = episodicLimits()
        limits.episodeFollowPageCountMax = 4
        try await withStore(limits: limits) { store, _ in
            let before = try await store.write(EpisodeAppend(namespace: crm, episodes: [episode("a", kind: 1, "old")]))
            let follower = try store.followEpisodes(namespace: crm, from: 1, agents: ["a"], kinds: [1])
            let reading = Task { () throws(EngramError) -> [Episode] in
                var seen: [Episode] = []
                for try await episode in follower {
                    seen.append(episode)
                    if seen.count == 21 { break }
                }
                return seen
            }
            var expected = [Episode(agent: "a", sequence: 1, timestampMicroseconds: before[0].timestampMicroseconds, position: 1, kind: 1, lead: nil, campaign: nil, body: bytes("old"))]
            for round in 0..<20 {
                let batch = [episode("a", kind: 1, "a \(round)"), episode("b", kind: 1, "b \(round)"), episode("a", kind: 2, "a kind 2 \(round)")]
                _ = try await store.write(EpisodeAppend(namespace: billing, episodes: [episode("a", kind: 1, "other namespace")]))
                let receipts = try await store.write(EpisodeAppend(namespace: crm, episodes: batch))
                expected.append(Episode(agent: "a", sequence: receipts[0].sequence, timestampMicroseconds: receipts[0].timestampMicroseconds, position: receipts[0].position, kind: 1, lead: nil, campaign: nil, body: bytes("a \(round)")))
            }
            #expect(try await reading.value == expected)
        }
    }

    @Test func slowFollowerCatchesUpFromTheSegmentsWithABoundedPage() async throws {
        var limits = episodicLimits()
        limits.episodeFollowPageCountMax = 3
        try await withStore(limits: limits) { store, _ in
            let follower = try store.followEpisodes(namespace: crm, from: store.episodicNextPosition)
            var iterator = follower.makeAsyncIterator()
            var expected: [UInt64] = []
            for round in 0..<60 {
                expected += try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "agent-\(round % 4)", kind: 3, body: noise(200, seed: UInt64(round)))])).map(\.position)
            }
            var positions: [UInt64] = []
            while positions.count < expected.count, let episode = try await iterator.next() {
                positions.append(episode.position)
            }
            #expect(positions == expected)
            #expect(iterator.position <= expected.last! + 1)
        }
    }

    @Test func followerEndsWhenItsTaskIsCancelledOrTheStoreCloses() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: episodicLimits()))
        let waiting = Task { () throws(EngramError) -> Int in
            var count = 0
            for try await _ in try store.followEpisodes(namespace: crm, from: 1) { count += 1 }
            return count
        }
        let closing = Task { () throws(EngramError) -> Int in
            var count = 0
            for try await _ in try store.followEpisodes(namespace: crm, from: 1) { count += 1 }
            return count
        }
        _ = try await store.write(EpisodeAppend(namespace: crm, episodes: [episode("a", "one")]))
        try await Task.sleep(nanoseconds: 50_000_000)
        waiting.cancel()
        #expect(try await waiting.value == 1)
        store.close()
        #expect(try await closing.value == 1)
    }
}
