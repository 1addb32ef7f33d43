import EngramStorage
import FoundationEssentials
import Testing

/// Range reads against a simple model: random agents, namespaces and batches, across block and
/// segment rolls, before and after a reopen.
@Suite struct EpisodicRangeReadTests {
    struct Model {
        var byAgent: [String: [Episode]] = [:]
        var byNamespace: [String: [Episode]] = [:]

        mutating func record(_ namespace: Namespace, _ episodes: [NewEpisode], _ receipts: [EpisodeReceipt]) {
            for (episode, receipt) in zip(episodes, receipts) {
                let stored = Episode(agent: episode.agent, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, position: receipt.position, kind: episode.kind, lead: episode.lead, campaign: episode.campaign, body: episode.body)
                byAgent[namespace.name + "/" + episode.agent, default: []].append(stored)
                byNamespace[namespace.name, default: []].append(stored)
            }
        }
    }

    static let agents = ["a", "b", "c", "triage-7", "engagement.mailer:2"]

    static func randomBatch(_ generator: inout SplitMix64) -> [NewEpisode] {
        (0..<Int(generator.next() % 8 + 1)).map { _ in
            let agent = agents[Int(generator.next() % UInt64(agents.count))]
            let lead = generator.next() % 2 == 0 ? UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, UInt8(generator.next() % 200))) : nil
            let campaign = generator.next() % 3 == 0 ? UUID(uuid: (9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, UInt8(generator.next() % 200))) : nil
            return NewEpisode(agent: agent, kind: UInt16(generator.next() % 5), lead: lead, campaign: campaign, body: noise(Int(generator.next() % 200), seed: generator.next()))
        }
    }

    /// Appends `rounds` rounds of up to four concurrent commands (so batches hold several).
    static func fill(_ store: EngramStore, _ model: inout Model, rounds: Int, generator: inout SplitMix64) async throws {
        for _ in 0..<rounds {
            let commands = (0..<Int(generator.next() % 4 + 1)).map { _ in
                EpisodeAppend(namespace: generator.next() % 3 == 0 ? billing : crm, episodes: randomBatch(&generator))
            }
            let results = try await withThrowingTaskGroup(of: (Int, [EpisodeReceipt]).self) { group in
                for (index, command) in commands.enumerated() {
                    group.addTask { (index, try await store.write(command)) }
                }
                var results: [(Int, [EpisodeReceipt])] = []
                for try await result in group { results.append(result) }
                return results.sorted { $0.1[0].position < $1.1[0].position }
            }
            for (index, receipts) in results { model.record(commands[index].namespace, commands[index].episodes, receipts) }
        }
    }

    static func check(_ store: EngramStore, _ model: Model, generator: inout SplitMix64) throws {
        for (key, expected) in model.byAgent {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let namespace = try Namespace(parts[0])
            for _ in 0..<12 {
                let order: EpisodeOrder = generator.next() % 2 == 0 ? .oldestFirst : .newestFirst
                let limit = Int(generator.next() % 20 + 1)
                var range: EpisodeRange
                switch generator.next() % 3 {
                case 0:
                    let low = generator.next() % UInt64(expected.count + 2) + 1
                    range = .sequences(low...(low + generator.next() % UInt64(expected.count + 2)))
                case 1:
                    let times = expected.map(\.timestampMicroseconds)
                    let low = times[Int(generator.next() % UInt64(times.count))] - Int64(generator.next() % 3)
                    range = .time(low...(low + Int64(generator.next() % 2_000)))
                default:
                    range = .all
                }
                var wanted = expected.filter { range.sequences.contains($0.sequence) && range.time.contains($0.timestampMicroseconds) }
                if order == .newestFirst { wanted.reverse() }
                var collected: [Episode] = []
                var next: EpisodeRange? = range
                var pages = 0
                while let current = next {
                    let page = try store.episodes(namespace: namespace, agent: parts[1], range: current, order: order, limit: limit)
                    if pages == 0 { #expect(page.episodes == Array(wanted.prefix(limit)), "first page of \(key) \(range) \(order) limit \(limit)") }
                    #expect(page.episodes.count <= limit)
                    collected += page.episodes
                    next = page.next
                    pages += 1
                    #expect(pages <= wanted.count + 1, "paging must end")
                    if pages > wanted.count + 1 { break }
                }
                #expect(collected == wanted, "all pages of \(key) \(range) \(order) limit \(limit)")
            }
        }
        for (name, expected) in model.byNamespace {
            let from = generator.next() % UInt64(expected.last!.position + 2) + 1
            var collected: [Episode] = []
            var position = from
            while true {
                let page = try store.scanEpisodes(namespace: try Namespace(name), from: position, limit: 7)
                collected += page.episodes
                position = page.nextPosition
                if page.isAtEnd { break }
            }
            #expect(collected == expected.filter { $0.position >= from }, "scan of \(name) from \(from)")
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func rangeReadsMatchTheModel(seed: UInt64) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StoreConfiguration(directory: directory.path, limits: episodicLimits())
        var generator = SplitMix64(seed: seed)
        var model = Model()
        do {
            let store = try EngramStore.open(configuration)
            try await Self.fill(store, &model, rounds: 40, generator: &generator)
            try Self.check(store, model, generator: &generator)
            store.close()
        }
        let store = try EngramStore.open(configuration)
        defer { store.close() }
        try Self.check(store, model, generator: &generator)
        try await Self.fill(store, &model, rounds: 30, generator: &generator)
        try Self.check(store, model, generator: &generator)
        let segments = try PosixFileSystem().contentsOfDirectory(directory.appending("episodic"))
        #expect(segments.count >= 3, "the workload must cross segment rolls, found \(segments)")
        #expect(try store.verifyEpisodes().isEmpty)
    }
}
