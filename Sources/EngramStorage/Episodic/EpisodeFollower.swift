/// Follows the episodic log's tail: an `AsyncSequence` of a namespace's episodes in position order,
/// from a position on, optionally only some agents and kinds (docs/EPISODIC.md, "Reading").
///
/// It pulls: each `next()` hands out the next episode of the page it holds, reads the next page
/// from the blocks when that is used up, and waits for the writer's wake-up after a commit when it
/// has caught up. A follower holds at most `Limits.episodeFollowPageCountMax` episodes, so a slow
/// consumer costs no memory: it only falls behind, and catches up by reading. The sequence ends
/// (returns nil) when the store closes or the task is cancelled; it throws `.corrupt` for a
/// damaged block. One iterator per task; the store must stay open while it is iterated.
public struct EpisodeFollower: AsyncSequence, Sendable {
    public typealias Element = Episode
    public typealias Failure = EngramError

    let store: EngramStore
    let namespace: Namespace
    let start: UInt64
    let agents: Set<[UInt8]>?
    let kinds: Set<UInt16>?

    public func makeAsyncIterator() -> Iterator {
        Iterator(follower: self, position: start)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let follower: EpisodeFollower
        /// The position the next page starts at: every episode below it has been handed out or
        /// filtered away.
        public private(set) var position: UInt64
        private var page: [Episode] = []
        private var index = 0

        init(follower: EpisodeFollower, position: UInt64) {
            self.follower = follower
            self.position = position
        }

        public mutating func next() async throws(EngramError) -> Episode? {
            try await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(EngramError) -> Episode? {
            let log = follower.store.writer.episodicLog
            while true {
                if index < page.count {
                    index += 1
                    return page[index - 1]
                }
                if Task.isCancelled || log.isClosed { return nil }
                let agents = follower.agents
                let kinds = follower.kinds
                let scanned = try follower.store.scanEpisodes(
                    namespace: follower.namespace, from: position,
                    limit: follower.store.limits.episodeFollowPageCountMax
                ) { record in
                    (kinds == nil || kinds!.contains(record.kind)) && (agents == nil || agents!.contains(Array(record.agent)))
                }
                page = scanned.episodes
                index = 0
                position = scanned.nextPosition
                if page.isEmpty && scanned.isAtEnd {
                    await log.waitForCommit(reaching: position)
                }
            }
        }
    }
}

extension EngramStore {
    /// Follows `namespace`'s episodes from `position` on (1 for the whole retained history,
    /// `episodicNextPosition` for only new ones), optionally only those of `agents` and `kinds`.
    /// Throws at once for an invalid namespace or agent id.
    public func followEpisodes(namespace: Namespace, from position: UInt64, agents: [String]? = nil, kinds: [UInt16]? = nil) throws(EngramError) -> EpisodeFollower {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        var agentSet: Set<[UInt8]>? = nil
        if let agents {
            var set = Set<[UInt8]>()
            for agent in agents { set.insert(try EpisodicValidation.agentBytes(agent, limits: limits)) }
            agentSet = set
        }
        return EpisodeFollower(store: self, namespace: namespace, start: max(position, 1), agents: agentSet, kinds: kinds.map(Set.init))
    }
}

extension EngramStore {
    /// One page of `namespace`'s episodes from `position` on, as `scanEpisodes` reads it, keeping
    /// only those of `agents` and `kinds` (nil: all). `nextPosition` moves past the episodes the
    /// filter dropped too, so a caller that polls with it never reads them again. For servers that
    /// push to followers from their own threads rather than iterate an `EpisodeFollower`.
    public func scanEpisodes(namespace: Namespace, from position: UInt64, limit: Int, agents: [String]?, kinds: [UInt16]?) throws(EngramError) -> EpisodeScanPage {
        var agentSet: Set<[UInt8]>? = nil
        if let agents {
            var set = Set<[UInt8]>()
            for agent in agents { set.insert(try EpisodicValidation.agentBytes(agent, limits: limits)) }
            agentSet = set
        }
        let kindSet = kinds.map(Set.init)
        if agentSet == nil && kindSet == nil { return try scanEpisodes(namespace: namespace, from: position, limit: limit) }
        return try scanEpisodes(namespace: namespace, from: max(position, 1), limit: limit) { record in
            (kindSet == nil || kindSet!.contains(record.kind)) && (agentSet == nil || agentSet!.contains(Array(record.agent)))
        }
    }

    /// Waits until an episode at `nextPosition` or later has committed, and returns the committed
    /// next position then (above `nextPosition`). Returns nil once the store is closing, and the
    /// current next position, possibly not above `nextPosition`, if the task is cancelled. Lets a
    /// server wake its followers after each commit that appended episodes, with one waiting task.
    public func waitForEpisodicCommit(past nextPosition: UInt64) async -> UInt64? {
        let log = writer.episodicLog
        await log.waitForCommit(reaching: nextPosition)
        if log.isClosed { return nil }
        return log.committedNextPosition
    }
}
