#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import NIOCore
import Synchronization
import Testing

/// Following the episodic stream through the real `engramd`: resuming after a forced disconnect,
/// a stalled follower's bounded cost, many followers, unfollow.
@Suite(.serialized) struct FollowTests {
    let crm = "crm"

    func episodes(_ range: Range<Int>, agents: [String] = ["triage-1", "engage-1"], bodyBytes: Int = 16) -> [WireNewEpisode] {
        range.map { index in
            var body = Array("event \(index) ".utf8)
            if body.count < bodyBytes { body += Array(repeating: UInt8(ascii: "."), count: bodyBytes - body.count) }
            return WireNewEpisode(agent: agents[index % agents.count], kind: UInt16(index % 3), body: body)
        }
    }

    /// The server is killed (SIGKILL) and restarted on its port while a stream is being read: the
    /// stream reconnects and resumes after the last episode it delivered, with none lost or repeated.
    @Test func aFollowResumesAfterAForcedDisconnectWithNothingLostOrRepeated() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        let port = server.port
        var writer = EngramClient(server.clientConfiguration())
        for start in stride(from: 0, to: 100, by: 25) {
            try await writer.append(namespace: crm, episodes: episodes(start..<(start + 25)))
        }
        let reader = EngramClient(server.clientConfiguration())
        var iterator = reader.follow(namespace: crm, from: 1).makeAsyncIterator()
        var delivered: [WireEpisode] = []
        while delivered.count < 60 {
            guard let episode = try await iterator.next() else { throw TestFailure("the stream ended after \(delivered.count)") }
            delivered.append(episode)
        }
        server.stop(signal: SIGKILL)
        await writer.close()
        server = try ServerProcess.start(dataDirectory: directory.dataDirectory, port: port)
        writer = EngramClient(server.clientConfiguration())
        for start in stride(from: 100, to: 200, by: 25) {
            try await writer.append(namespace: crm, episodes: episodes(start..<(start + 25)))
        }
        while delivered.count < 200 {
            guard let episode = try await iterator.next() else { throw TestFailure("the stream ended after \(delivered.count)") }
            delivered.append(episode)
        }
        #expect(delivered.map(\.position) == Array(1...200))
        #expect(delivered.map(\.body) == episodes(0..<200).map(\.body))
        #expect(iterator.reconnectCount >= 1)
        #expect(iterator.position == 201)
        await writer.close()
        await reader.close()
        expectCleanExit(server.stop())
    }

    /// A follower that reads nothing: the server pauses it once its unwritten frames pass
    /// followBufferedBytesMax, so its buffered bytes stay under the bound plus one frame however
    /// much is appended; when it reads again it gets every episode, in order.
    @Test func aStalledFollowerDoesNotGrowTheServersMemory() async throws {
        try await withServer { server in
            let raw = try RawConnection(port: server.port, receiveBufferBytes: 4_096)
            #expect(try raw.hello().header.status == .ok)
            try raw.send(.episodicFollow(namespace: crm, from: 1, agents: [], kinds: []), id: 2)
            let accepted = try Response.decode(try raw.readFrame())
            #expect(accepted == .followPush(nextPosition: 1, episodes: []))
            let writer = EngramClient(server.clientConfiguration())
            defer { Task { await writer.close() } }
            // 16 MiB of episodes, far past what the kernel's socket buffers hold.
            let total = 4_000
            var bufferedMax: UInt64 = 0
            for start in stride(from: 0, to: total, by: 100) {
                try await writer.append(namespace: crm, episodes: episodes(start..<(start + 100), bodyBytes: 4_096))
                let stats = Dictionary(uniqueKeysWithValues: try await writer.stats().map { ($0.name, $0.value) })
                bufferedMax = max(bufferedMax, stats["server.follow_buffered_bytes"]!)
            }
            let bound = UInt64(ServerLimitsDefaults.followBufferedBytesMax + ServerLimitsDefaults.followFrameBytesMax)
            let stalled = Dictionary(uniqueKeysWithValues: try await writer.stats().map { ($0.name, $0.value) })
            #expect(bufferedMax <= bound, "the server buffered \(bufferedMax) bytes for a stalled follower")
            #expect(bufferedMax > 0, "the kernel took everything: the test did not stall the follower")
            #expect(stalled["server.follow_pauses"]! >= 1)
            #expect(stalled["server.follows"] == 1)

            var positions: [UInt64] = []
            var next: UInt64 = 1
            while positions.count < total {
                guard case .followPush(let nextPosition, let batch) = try Response.decode(try raw.readFrame()) else { throw TestFailure("not a push frame") }
                #expect(batch.first.map { $0.position == next } ?? true)
                positions += batch.map(\.position)
                next = nextPosition
            }
            #expect(positions == (1...UInt64(total)).map { $0 })
            #expect(next == UInt64(total) + 1)
            // Drained: nothing is buffered for it any more.
            var buffered: UInt64 = 1
            for _ in 0..<50 where buffered != 0 {
                buffered = Dictionary(uniqueKeysWithValues: try await writer.stats().map { ($0.name, $0.value) })["server.follow_buffered_bytes"]!
                if buffered != 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(buffered == 0)
        }
    }

    @Test func manyFollowersAtOnceEachGetTheirEpisodesInOrder() async throws {
        try await withServer { server in
            let writer = EngramClient(server.clientConfiguration())
            defer { Task { await writer.close() } }
            let agents = ["triage-1", "engage-1", "optimize-1"]
            let followerCount = 40
            let total = 300
            let reader = EngramClient(server.clientConfiguration())
            defer { Task { await reader.close() } }
            let results = try await withThrowingTaskGroup(of: (Int, [WireEpisode]).self) { group in
                for index in 0..<followerCount {
                    let filter = index % 2 == 0 ? [] : [agents[index % 3]]
                    let expected = filter.isEmpty ? total : total / 3
                    group.addTask {
                        var collected: [WireEpisode] = []
                        for try await episode in reader.follow(namespace: "crm", from: 1, agents: filter) {
                            collected.append(episode)
                            if collected.count == expected { break }
                        }
                        return (index, collected)
                    }
                }
                // Appends start while the followers subscribe, so some read history and some get pushes.
                for start in stride(from: 0, to: total, by: 10) {
                    try await writer.append(namespace: crm, episodes: episodes(start..<(start + 10), agents: agents))
                }
                var results: [(Int, [WireEpisode])] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == followerCount)
            for (index, collected) in results {
                if index % 2 == 0 {
                    #expect(collected.map(\.position) == (1...UInt64(total)).map { $0 }, "follower \(index)")
                } else {
                    let agent = agents[index % 3]
                    #expect(collected.allSatisfy { $0.agent == agent }, "follower \(index)")
                    #expect(collected.map(\.position) == (1...UInt64(total)).filter { agents[Int($0 - 1) % 3] == agent }, "follower \(index)")
                }
            }
        }
    }

    @Test func unfollowEndsTheFollowWithItsLastFrameFirst() async throws {
        try await withServer { server in
            let writer = EngramClient(server.clientConfiguration())
            defer { Task { await writer.close() } }
            try await writer.append(namespace: crm, episodes: episodes(0..<3))
            let raw = try RawConnection(port: server.port)
            #expect(try raw.hello().header.status == .ok)
            try raw.send(.episodicFollow(namespace: crm, from: 2, agents: [], kinds: [1, 2]), id: 7)
            #expect(try Response.decode(try raw.readFrame()) == .followPush(nextPosition: 2, episodes: []))
            guard case .followPush(let next, let pushed) = try Response.decode(try raw.readFrame()) else { throw TestFailure("no push") }
            #expect(pushed.map(\.position) == [2, 3])
            #expect(next == 4)
            try raw.send(.episodicUnfollow(followRequestID: 7), id: 8)
            let last = try raw.readFrame()
            #expect(last.header.requestID == 7)
            #expect(last.header.flags.contains(.more) == false)
            #expect(try Response.decode(last) == .followEnd(nextPosition: 4))
            let answer = try raw.readFrame()
            #expect(answer.header.requestID == 8)
            #expect(try Response.decode(answer) == .existed(true))
            try raw.send(.episodicUnfollow(followRequestID: 7), id: 9)
            #expect(try Response.decode(try raw.readFrame()) == .existed(false))
            // A bad agent name is refused before the follow starts.
            try raw.send(.episodicFollow(namespace: crm, from: 1, agents: ["no spaces"], kinds: []), id: 10)
            let refused = try raw.readFrame()
            #expect(refused.header.status == .invalidArgument)
            #expect(refused.header.flags.contains(.more) == false)
        }
    }
}

/// The defaults of `ServerLimits` the tests compare against (the integration target does not
/// link the server).
enum ServerLimitsDefaults {
    static let followBufferedBytesMax = 256 << 10
    static let followFrameBytesMax = 1 << 20
}
