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
