import EngramStorage
import FoundationEssentials
import Testing

@Suite struct MarketingEventGeneratorTests {
    @Test func eventsAreDeterministicAndRoundTripThroughTheLog() async throws {
        var first = MarketingEventGenerator(seed: 5, leadCount: 50, campaignCount: 10, agentCount: 3)
        var second = MarketingEventGenerator(seed: 5, leadCount: 50, campaignCount: 10, agentCount: 3)
        let events = (0..<300).map { _ in first.next() }
        #expect(events.map(\.episode) == (0..<300).map { _ in second.next().episode })
        #expect(Set(events.map(\.episode.agent)) == ["triage-0", "engagement-1", "optimization-2"])
        #expect(Set(events.compactMap(\.episode.lead)).count <= 50)
        #expect(Set(events.compactMap(\.episode.campaign)).count <= 10)
        let line = String(decoding: events[0].jsonLine(timestampMicroseconds: 1_700_000_000_000_000), as: UTF8.self)
        #expect(line.hasPrefix("{\"ts\":1700000000000000,\"agent\":\"\(events[0].episode.agent)\",\"kind\":\"\(events[0].kind.name)\""))
        #expect(line.hasSuffix("}\n"))
        #expect(line.contains("\"utm_source\":"))
        try await withStore(limits: episodicLimits()) { store, _ in
            var receipts: [EpisodeReceipt] = []
            for start in stride(from: 0, to: events.count, by: 100) {
                receipts += try await store.write(EpisodeAppend(namespace: crm, episodes: events[start..<(start + 100)].map(\.episode)))
            }
            let scanned = try store.scanEpisodes(namespace: crm, from: 1, limit: 1_000)
            #expect(scanned.isAtEnd)
            #expect(scanned.episodes.map(\.body) == events.map(\.episode.body))
            #expect(scanned.episodes.map(\.lead) == events.map(\.episode.lead))
            #expect(scanned.episodes.map(\.campaign) == events.map(\.episode.campaign))
            #expect(scanned.episodes.map(\.kind) == events.map(\.episode.kind))
            #expect(scanned.episodes.map(\.position) == receipts.map(\.position))
        }
    }
}
