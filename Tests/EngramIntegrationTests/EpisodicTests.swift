import EngramClient
import EngramProtocol
import Testing

/// Episodic memory end to end through the real `engramd`: appends, range reads, scans, roles.
@Suite(.serialized) struct EpisodicTests {
    let crm = "crm"
    static let lead = FactID("6f1c2a9e-0b7d-4e21-9c3a-5d8e7f6a1b2c")!
    static let campaign = FactID("00010203-0405-0607-0809-0a0b0c0d0e0f")!

    @Test func appendReadAndScanEndToEnd() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            let single = try await client.append(namespace: crm, episode: WireNewEpisode(agent: "triage-1", kind: 1, lead: Self.lead, body: Array("scored 87".utf8)))
            #expect(single.sequence == 1)
            #expect(single.position == 1)
            var batch: [WireNewEpisode] = []
            for index in 0..<30 {
                let agent = index % 2 == 0 ? "triage-1" : "engage-1"
                let campaign: FactID? = index % 5 == 0 ? Self.campaign : nil
                batch.append(WireNewEpisode(agent: agent, kind: UInt16(2 + index % 3), campaign: campaign, body: Array("event \(index)".utf8)))
            }
            let receipts = try await client.append(namespace: crm, episodes: batch, durability: .applied)
            #expect(receipts.map(\.position) == Array(2...31))
            #expect(receipts.filter { $0.position % 2 == 0 }.map(\.sequence) == Array(2...16))
            #expect(receipts.filter { $0.position % 2 == 1 }.map(\.sequence) == Array(1...15))
            #expect(Set(receipts.map(\.timestampMicroseconds)).count == 1)

            // Range reads: oldest first in pages, newest first, by time.
            var seen: [WireEpisode] = []
            var range: WireEpisodeRange? = .all
            var pages = 0
            while let current = range {
                let page = try await client.episodes(namespace: crm, agent: "triage-1", range: current, limit: 6)
                seen += page.episodes
                range = page.next
                pages += 1
            }
            #expect(pages == 3)
            #expect(seen.map(\.sequence) == Array(1...16))
            #expect(seen[0] == WireEpisode(position: 1, sequence: 1, timestampMicroseconds: single.timestampMicroseconds, agent: "triage-1", kind: 1, lead: Self.lead, body: Array("scored 87".utf8)))
            #expect(seen[1].campaign == Self.campaign && seen[1].body == Array("event 0".utf8))
            let newest = try await client.episodes(namespace: crm, agent: "engage-1", range: .sequences(3...10), order: .newestFirst, limit: 3)
            #expect(newest.episodes.map(\.sequence) == [10, 9, 8])
            #expect(newest.next == .sequences(3...7))
            let byTime = try await client.episodes(namespace: crm, agent: "engage-1", range: .time(receipts[0].timestampMicroseconds...receipts[0].timestampMicroseconds), limit: 100)
            #expect(byTime.episodes.count == 15)
            #expect(try await client.episodes(namespace: crm, agent: "nobody").episodes.isEmpty)

            // The position-order scan, paged.
            let first = try await client.scanEpisodes(namespace: crm, from: 0, limit: 20)
            #expect(first.episodes.map(\.position) == Array(1...20))
            #expect(first.isAtEnd == false)
            let rest = try await client.scanEpisodes(namespace: crm, from: first.nextPosition, limit: 20)
            #expect(rest.episodes.map(\.position) == Array(21...31))
            #expect(rest.isAtEnd)
            #expect(rest.nextPosition == 32)
            #expect(try await client.scanEpisodes(namespace: "billing").episodes.isEmpty)

            // Limits and names come back as typed errors.
            let badAgent = await clientError { try await client.append(namespace: crm, episode: WireNewEpisode(agent: "no spaces", kind: 1, body: [])) }
            #expect(badAgent?.code == .serverInvalidArgument)
            let bigBody = await clientError { try await client.append(namespace: crm, episode: WireNewEpisode(agent: "a", kind: 1, body: Array(repeating: 0, count: 40_000))) }
            #expect(bigBody?.code == .valueTooLarge)
            #expect(bigBody?.message == "episode body of 40000 bytes exceeds episodeBodyBytesMax 32768")
            let zeroLimit = await clientError { _ = try await client.scanEpisodes(namespace: crm, limit: 0) }
            #expect(zeroLimit?.code == .invalidArgument)

            let stats = Dictionary(uniqueKeysWithValues: try await client.stats().map { ($0.name, $0.value) })
            #expect(stats["episodic.next_position"] == 32)
        }
    }

    @Test func eachEpisodicOpcodeNeedsItsRole() async throws {
        try await withServer(arguments: ["--token", "reader:read:crm", "--token", "writer:write:crm"]) { server in
            let reader = EngramClient(server.clientConfiguration(token: "reader", connections: 1))
            let writer = EngramClient(server.clientConfiguration(token: "writer", connections: 1))
            defer { Task { await reader.close(); await writer.close() } }
            try await writer.append(namespace: crm, episode: WireNewEpisode(agent: "a", kind: 1, body: []))
            let append = await clientError { try await reader.append(namespace: crm, episode: WireNewEpisode(agent: "a", kind: 1, body: [])) }
            #expect(append?.message == "the token has read on namespace crm; episodic_append needs write")
            #expect(try await reader.episodes(namespace: crm, agent: "a").episodes.count == 1)
            #expect(try await reader.scanEpisodes(namespace: crm).episodes.count == 1)
            #expect(await clientError { _ = try await reader.scanEpisodes(namespace: "billing") }?.code == .forbidden)
            // A follow without a grant is refused with one frame, without the more flag.
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello(token: "reader").header.status == .ok)
            try raw.send(.episodicFollow(namespace: "billing", from: 1, agents: [], kinds: []), id: 2)
            let refused = try raw.readFrame()
            #expect(refused.header.status == .forbidden)
            #expect(refused.header.flags.contains(.more) == false)
            #expect(refused.errorMessage == "the token has no grant on namespace billing; episodic_follow needs read")
        }
    }
}
