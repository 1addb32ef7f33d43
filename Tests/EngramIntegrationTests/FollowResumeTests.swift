#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Testing

/// Resuming a filtered follow, as the agents do: across a server killed and restarted while the
/// stream is read (the stream resumes by itself), and from a saved position in a new stream (as a
/// restarted agent would).
@Suite(.serialized) struct FollowResumeTests {
    let crm = "crm"
    let agents = ["triage-1", "triage-2", "engagement-1"]

    /// Episode `index`: agent and kind cycle at different periods, so a filter on both keeps an
    /// irregular subset of positions.
    func episodes(_ range: Range<Int>) -> [WireNewEpisode] {
        range.map { index in
            WireNewEpisode(agent: agents[index % 3], kind: UInt16(10 + index % 4), body: Array("event \(index)".utf8))
        }
    }

    func matches(_ index: Int) -> Bool {
        index % 3 != 2 && (index % 4 == 0 || index % 4 == 3)
    }

    @Test func aFilteredFollowResumesAcrossAServerRestartWithNothingLostOrRepeated() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        let port = server.port
        var writer = EngramClient(server.clientConfiguration())
        try await writer.append(namespace: crm, episodes: episodes(0..<300))
        let reader = EngramClient(server.clientConfiguration())
        var iterator = reader.follow(namespace: crm, from: 1, agents: ["triage-1", "triage-2"], kinds: [10, 13]).makeAsyncIterator()
        var delivered: [WireEpisode] = []
        let expectedBeforeKill = (0..<300).filter(matches).count
        while delivered.count < expectedBeforeKill / 2 {
            guard let episode = try await iterator.next() else { throw TestFailure("the stream ended after \(delivered.count)") }
            delivered.append(episode)
        }
        server.stop(signal: SIGKILL)
        await writer.close()
        server = try ServerProcess.start(dataDirectory: directory.dataDirectory, port: port)
        writer = EngramClient(server.clientConfiguration())
        // The rest of the old episodes and 300 new ones, committed after the restart.
        try await writer.append(namespace: crm, episodes: episodes(300..<600))
        let expected = (0..<600).filter(matches)
        while delivered.count < expected.count {
            guard let episode = try await iterator.next() else { throw TestFailure("the stream ended after \(delivered.count)") }
            delivered.append(episode)
        }
        #expect(delivered.map(\.position) == expected.map { UInt64($0 + 1) })
        #expect(delivered.map(\.body) == expected.map { Array("event \($0)".utf8) })
        #expect(iterator.reconnectCount >= 1)
        // Nothing more arrives: the last episode that matches was the last delivered.
        try await writer.append(namespace: crm, episodes: [WireNewEpisode(agent: "triage-1", kind: 10, body: Array("after".utf8))])
        let next = try await iterator.next()
        #expect(next?.position == 601)
        #expect(next?.body == Array("after".utf8))
        await writer.close()
        await reader.close()
        expectCleanExit(server.stop())
    }

    @Test func aNewStreamFromASavedPositionGetsExactlyTheRest() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration())
            defer { Task { await client.close() } }
            try await client.append(namespace: crm, episodes: episodes(0..<200))
            var saved: UInt64 = 0
            var first: [UInt64] = []
            do {
                var iterator = client.follow(namespace: crm, from: 1, kinds: [11]).makeAsyncIterator()
                while first.count < 20 {
                    guard let episode = try await iterator.next() else { throw TestFailure("the stream ended") }
                    first.append(episode.position)
                }
                saved = iterator.position
            }
            #expect(saved == first.last! + 1)
            try await client.append(namespace: crm, episodes: episodes(200..<400))
            var rest: [UInt64] = []
            let expected = (0..<400).filter { $0 % 4 == 1 }.map { UInt64($0 + 1) }
            for try await episode in client.follow(namespace: crm, from: saved, kinds: [11]) {
                rest.append(episode.position)
                if first.count + rest.count == expected.count { break }
            }
            #expect(first + rest == expected)
        }
    }
}
