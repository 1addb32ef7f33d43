import EngramProtocol

/// One page of an agent's range read; pass `next` as the range of the next read, same order.
public struct EpisodePage: Sendable, Hashable {
    public let episodes: [WireEpisode]
    public let next: WireEpisodeRange?
}

/// One page of a namespace's position-order scan; continue from `nextPosition`.
public struct EpisodeScanPage: Sendable, Hashable {
    public let episodes: [WireEpisode]
    public let nextPosition: UInt64
    /// The page reached the newest episode committed when it was read.
    public let isAtEnd: Bool
}

/// Episodic memory (docs/PROTOCOL.md, "Episodic memory").
extension EngramClient {
    /// Appends `episodes` (1 to the server's `episodeAppendCountMax`) as one unit, all or none;
    /// returns each one's sequence, timestamp and position, in order.
    @discardableResult
    public func append(namespace: String, episodes: [WireNewEpisode], durability: WireDurability? = nil) async throws(EngramClientError) -> [WireEpisodeReceipt] {
        guard !episodes.isEmpty, episodes.count <= Int(UInt16.max) else { throw EngramClientError(.invalidArgument, "an append carries 1 to \(UInt16.max) episodes, got \(episodes.count)") }
        let response = try await send(.episodicAppend(namespace: namespace, episodes: episodes), durability: durability)
        guard case .receipts(let receipts) = response, receipts.count == episodes.count else { throw unexpected(response, .episodicAppend) }
        return receipts
    }

    /// Appends one episode.
    @discardableResult
    public func append(namespace: String, episode: WireNewEpisode, durability: WireDurability? = nil) async throws(EngramClientError) -> WireEpisodeReceipt {
        try await append(namespace: namespace, episodes: [episode], durability: durability)[0]
    }

    /// One page of `agent`'s episodes within `range`.
    public func episodes(namespace: String, agent: String, range: WireEpisodeRange = .all, order: WireEpisodeOrder = .oldestFirst, limit: Int = 100) async throws(EngramClientError) -> EpisodePage {
        guard limit > 0, limit <= Int(UInt32.max) else { throw EngramClientError(.invalidArgument, "a read limit must be 1 to \(UInt32.max), got \(limit)") }
        let response = try await send(.episodicReadRange(namespace: namespace, agent: agent, range: range, order: order, limit: UInt32(limit)))
        guard case .episodePage(let episodes, let next) = response else { throw unexpected(response, .episodicReadRange) }
        return EpisodePage(episodes: episodes, next: next)
    }

    /// One page of the namespace's episodes from `position` on, in position order.
    public func scanEpisodes(namespace: String, from position: UInt64 = 1, limit: Int = 1_000) async throws(EngramClientError) -> EpisodeScanPage {
        guard limit > 0, limit <= Int(UInt32.max) else { throw EngramClientError(.invalidArgument, "a scan limit must be 1 to \(UInt32.max), got \(limit)") }
        let response = try await send(.episodicScan(namespace: namespace, from: position, limit: UInt32(limit)))
        guard case .episodeScanPage(let episodes, let next, let atEnd) = response else { throw unexpected(response, .episodicScan) }
        return EpisodeScanPage(episodes: episodes, nextPosition: next, isAtEnd: atEnd)
    }

    /// Follows the namespace's episodes from `position` on (1: the whole retained history), of
    /// every agent and kind or only those listed, as they commit; resumes by itself after a
    /// disconnect (`EpisodeStream`).
    public func follow(namespace: String, from position: UInt64 = 1, agents: [String] = [], kinds: [UInt16] = [], reconnect: FollowReconnectPolicy = FollowReconnectPolicy()) -> EpisodeStream {
        var configuration = self.configuration
        configuration.connectionCount = 1
        return EpisodeStream(configuration: configuration, group: group, namespace: namespace, start: position, agents: agents, kinds: kinds, policy: reconnect)
    }
}
