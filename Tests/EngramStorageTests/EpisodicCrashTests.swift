@testable import EngramStorage
import FoundationEssentials
import Testing

/// Power loss through `FaultInjectingFileSystem`: write through the store, stop without a
/// checkpoint, drop (or tear) everything not synced, reopen, and check that every durably
/// acknowledged episode is there exactly, and that what else is there is whole: a prefix of
/// positions, each episode exactly as written, every agent's sequences without a gap.
@Suite struct EpisodicCrashTests {
    struct Acknowledged {
        var byPosition: [UInt64: Episode] = [:]
        var durablePositions: [UInt64] = []

        mutating func add(_ episodes: [NewEpisode], _ receipts: [EpisodeReceipt], durable: Bool) {
            for (episode, receipt) in zip(episodes, receipts) {
                byPosition[receipt.position] = Episode(agent: episode.agent, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, position: receipt.position, kind: episode.kind, lead: episode.lead, campaign: episode.campaign, body: episode.body)
                if durable { durablePositions.append(receipt.position) }
            }
        }
    }

    static func episodes(task: Int, round: Int, seed: UInt64) -> [NewEpisode] {
        (0..<(round % 5 + 1)).map { item in
            NewEpisode(agent: "agent-\(task % 3)", kind: UInt16(item), lead: UUID(uuid: (UInt8(task), UInt8(round), UInt8(item), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)), body: bytes("task \(task) round \(round) item \(item) ") + noise(Int(seed % 50) + item * 7, seed: seed &+ UInt64(task * 1_000 + round * 10 + item)))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func acknowledgedEpisodesSurvivePowerLoss(seed: UInt64) async throws {
        let fileSystem = FaultInjectingFileSystem()
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var limits = tinyLimits()
        // Applied writes must stay unsynced until the crash, not be synced by the writer's timer.
        limits.appliedSyncDelayMilliseconds = 600_000
        let configuration = StoreConfiguration(directory: directory.path, limits: limits, fileSystem: fileSystem)
        var acknowledged = Acknowledged()

        let first = try EngramStore.open(configuration)
        for round in 0..<6 {
            let batch = Self.episodes(task: 9, round: round, seed: seed)
            acknowledged.add(batch, try await first.write(EpisodeAppend(namespace: crm, episodes: batch)), durable: true)
        }
        first.close()

        let store = try EngramStore.open(configuration)
        let results = try await withThrowingTaskGroup(of: [([NewEpisode], [EpisodeReceipt], Bool)].self) { group in
            for task in 0..<6 {
                group.addTask {
                    var results: [([NewEpisode], [EpisodeReceipt], Bool)] = []
                    for round in 0..<8 {
                        let durable = (seed &+ UInt64(task + round)) % 3 != 0
                        let batch = Self.episodes(task: task, round: round, seed: seed)
                        results.append((batch, try await store.write(EpisodeAppend(namespace: crm, episodes: batch), durability: durable ? .durable : .applied), durable))
                    }
                    return results
                }
            }
            var all: [([NewEpisode], [EpisodeReceipt], Bool)] = []
            for try await results in group { all += results }
            return all
        }
        for (batch, receipts, durable) in results { acknowledged.add(batch, receipts, durable: durable) }
        // An unsynced tail, so that the power loss has something to take.
        let tailStart = UInt64(acknowledged.byPosition.count) + 1
        for round in 8..<12 {
            let batch = Self.episodes(task: 7, round: round, seed: seed)
            acknowledged.add(batch, try await store.write(EpisodeAppend(namespace: crm, episodes: batch), durability: .applied), durable: false)
        }
        store.simulateCrash()
        let keepNone = seed % 2 == 0
        try fileSystem.powerLoss(seed: seed, keepNone: keepNone)
        if keepNone { #expect(fileSystem.writesDropped > 0) }

        let recovered = try EngramStore.open(configuration)
        defer { recovered.close() }
        var present: [Episode] = []
        var position: UInt64 = 1
        while true {
            let page = try recovered.scanEpisodes(namespace: crm, from: position, limit: 50)
            present += page.episodes
            position = page.nextPosition
            if page.isAtEnd { break }
        }
        #expect(present.map(\.position) == Array(1...UInt64(max(present.count, 1))).prefix(present.count).map { $0 }, "positions form a prefix")
        for episode in present {
            #expect(acknowledged.byPosition[episode.position] == episode, "position \(episode.position) is exactly what was written")
        }
        let presentPositions = Set(present.map(\.position))
        for durable in acknowledged.durablePositions {
            #expect(presentPositions.contains(durable), "durable position \(durable) survived")
        }
        #expect(UInt64(present.count) >= acknowledged.durablePositions.max()!)
        if keepNone {
            // Applied writes synced along with a durable batch survive; the tail after the last
            // sync does not.
            #expect(UInt64(present.count) < tailStart, "the unsynced tail is gone")
        }
        for agent in ["agent-0", "agent-1", "agent-2", "agent-9"] {
            let page = try recovered.episodes(namespace: crm, agent: agent, limit: 1_000)
            #expect(page.episodes.map(\.sequence) == Array(0..<UInt64(page.episodes.count)).map { $0 + 1 })
            #expect(page.episodes == present.filter { $0.agent == agent })
        }
        #expect(try recovered.verifyEpisodes().isEmpty)
        let next = try await recovered.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "agent-1", kind: 1, body: bytes("after"))]))
        #expect(next[0].position == UInt64(present.count) + 1)
        #expect(next[0].sequence == UInt64(present.filter { $0.agent == "agent-1" }.count) + 1)
    }
}
