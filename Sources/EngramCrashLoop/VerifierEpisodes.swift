import EngramClient
import EngramProtocol

extension Verifier {
    /// Episodes re-read below the first new one in a round that does not read them all: the
    /// boundary between verified and new is where a cut recovery would show.
    static let episodeOverlap = 32

    /// Each agent's episodes: sequences 1, 2, 3, ... without a hole or a repeat; every
    /// acknowledged episode at its sequence byte for byte (position, timestamp, kind, body); any
    /// other one an append that was in flight, each adopted once. With `fullEpisodeRead` every
    /// episode from sequence 1 is read and held to its digest; otherwise those from a little
    /// below the first unverified one.
    mutating func verifyEpisodes() async throws(EngramClientError) {
        for index in 0..<LoadShape.agentCount {
            let agent = LoadShape.agent(index)
            state.episodes[agent] = try await checkEpisodes(namespace: LoadShape.namespace, agent: agent, known: state.episodes[agent] ?? AgentEpisodes(), fromSequenceOne: fullEpisodeRead) { body in
                { if case .append(agent, body) = $0 { true } else { false } }
            }
        }
    }

    /// Reads `agent`'s episodes page by page and holds them to `known`; returns them settled
    /// (every one verified).
    mutating func checkEpisodes(namespace: String, agent: String, known: AgentEpisodes, fromSequenceOne: Bool, isInFlightAppend: @escaping ([UInt8]) -> (InFlight) -> Bool) async throws(EngramClientError) -> AgentEpisodes {
        let first = fromSequenceOne ? 1 : max(1, known.verified.count - Self.episodeOverlap + 1)
        var checker = EpisodeChecker(name: namespace == LoadShape.namespace ? agent : "\(namespace)/\(agent)", agent: agent, known: known, first: UInt64(first))
        var range = WireEpisodeRange.sequences(UInt64(first)...UInt64.max)
        while true {
            let page = try await client.episodes(namespace: namespace, agent: agent, range: range, limit: 10_000)
            for episode in page.episodes {
                checker.check(episode) { body in inFlight(where: isInFlightAppend(body)) }
            }
            guard let next = page.next else { break }
            range = next
        }
        checker.finish()
        problems += checker.problems
        appliedInFlightCount += checker.adopted.count
        return checker.settled
    }
}

/// The check of one agent's episodes, fed in sequence order, so a long history is never held
/// whole. Owned by one `checkEpisodes` call.
struct EpisodeChecker {
    let name: String
    let agent: String
    let known: AgentEpisodes
    var settled: AgentEpisodes
    /// The sequence the next episode must have.
    var expected: UInt64
    var adopted: Set<Int> = []
    var problems: [Verifier.Problem] = []
    var holeReported = false

    init(name: String, agent: String, known: AgentEpisodes, first: UInt64) {
        self.name = name
        self.agent = agent
        self.known = known
        settled = AgentEpisodes(verified: known.verified, acknowledged: [:])
        expected = first
    }

    /// `inFlight` gives the connection whose append in flight has this body, if one has.
    mutating func check(_ episode: WireEpisode, inFlight: ([UInt8]) -> Int?) {
        if episode.sequence != expected && !holeReported {
            holeReported = true
            problems.append(.init(kind: .lost, message: "\(name)'s episodes do not run 1, 2, 3, ...: sequence \(episode.sequence) where \(expected) belongs (position \(episode.position))"))
        }
        expected = episode.sequence + 1
        let sequence = episode.sequence
        if sequence <= UInt64(known.verified.count) {
            if EpisodeDigest(episode) != known.verified[Int(sequence) - 1] {
                problems.append(.init(kind: .lost, message: "\(name) sequence \(sequence) is position \(episode.position) at \(episode.timestampMicroseconds) \(Verifier.show(episode.body)), not the episode verified there after an earlier kill (position \(known.verified[Int(sequence) - 1].position))"))
            }
            return
        }
        defer { settled.verified.append(EpisodeDigest(episode)) }
        if let acknowledged = known.acknowledged[sequence] {
            if acknowledged != episode {
                problems.append(.init(kind: .lost, message: "\(name) sequence \(sequence) is position \(episode.position) at \(episode.timestampMicroseconds) \(Verifier.show(episode.body)); acknowledged: position \(acknowledged.position) at \(acknowledged.timestampMicroseconds) \(Verifier.show(acknowledged.body))"))
            }
            return
        }
        // Bodies name their connection, round and operation: an append matches at most once.
        if episode.kind == LoadShape.episodeKind, episode.agent == agent, let connection = inFlight(episode.body), !adopted.contains(connection) {
            adopted.insert(connection)
            return
        }
        problems.append(.init(kind: .unexpected, message: "\(name) holds sequence \(sequence) at position \(episode.position) \(Verifier.show(episode.body)); no append acknowledged or in flight explains it"))
    }

    /// After the last page: nothing verified or acknowledged may be missing.
    mutating func finish() {
        let last = expected - 1
        if last < UInt64(known.verified.count) {
            problems.append(.init(kind: .lost, message: "\(name) ends at sequence \(last); \(known.verified.count) episodes were verified after earlier kills"))
        }
        let missing = known.acknowledged.keys.filter { $0 > last }.sorted()
        if let first = missing.first {
            problems.append(.init(kind: .lost, message: "\(name) lost \(missing.count) acknowledged episodes, from sequence \(first) (\(Verifier.show(known.acknowledged[first]!.body)))"))
        }
    }
}
