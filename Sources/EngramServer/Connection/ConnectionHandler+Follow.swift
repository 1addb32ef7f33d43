import EngramProtocol
import EngramStorage
import NIOCore

/// One episodic follow of a connection (docs/PROTOCOL.md, "episodic follow"). Event loop only.
final class Follow {
    let requestID: UInt64
    let namespace: Namespace
    /// Every matching episode below this position has been handed to the socket.
    var position: UInt64
    let agents: [String]?
    let kinds: [UInt16]?
    /// Bytes of this follow's frames handed to the channel whose write has not completed.
    var bufferedBytes = 0
    /// Stopped for a slow reader; the last write completion below the bound resumes it.
    var paused = false
    /// A pump is queued on the event loop.
    var pumpScheduled = false

    init(requestID: UInt64, namespace: Namespace, position: UInt64, agents: [String]?, kinds: [UInt16]?) {
        self.requestID = requestID
        self.namespace = namespace
        self.position = position
        self.agents = agents
        self.kinds = kinds
    }
}

/// Pushing the episodic stream to followers.
///
/// A follow pulls from the log on the event loop: it reads a page of matching episodes from its
/// position (`EngramStore.scanEpisodes`), writes push frames of at most `followFrameBytesMax`,
/// and moves its position past what it wrote. It stops when it has caught up (the server's commit
/// watcher wakes it after the next commit that appends episodes), when it has read
/// `followPagesPerTurnMax` pages in this turn of the loop (it queues itself behind the other
/// connections' work), or when `followBufferedBytesMax` bytes of its frames wait for the socket:
/// then it is paused, and the write completion that takes it under the bound resumes it from its
/// position. So a stalled follower costs the server at most the bound plus one frame.
extension ConnectionHandler {
    func startFollow(_ namespace: Namespace, _ from: UInt64, _ agents: [String], _ kinds: [UInt16], _ header: FrameHeader, _ start: UInt64) {
        let limits = server.limits
        guard agents.count <= limits.followAgentCountMax, kinds.count <= limits.followKindCountMax else {
            answerError(.invalidArgument, "a follow names \(agents.count) agents and \(kinds.count) kinds; at most followAgentCountMax \(limits.followAgentCountMax) and followKindCountMax \(limits.followKindCountMax)", header, startNanoseconds: start)
            return
        }
        guard follows.count < limits.followCountMax else {
            answerError(.busy, "the connection already has followCountMax \(limits.followCountMax) follows", header, startNanoseconds: start)
            return
        }
        guard follows[header.requestID] == nil else {
            answerError(.invalidArgument, "request id \(header.requestID) is a live follow of this connection", header, startNanoseconds: start)
            return
        }
        for agent in agents {
            let bytes = agent.utf8.count
            guard (try? Namespace(agent)) != nil, bytes <= server.store.limits.episodeAgentBytesMax else {
                answerError(.invalidArgument, "agent id \"\(agent)\" is not 1 to episodeAgentBytesMax \(server.store.limits.episodeAgentBytesMax) bytes of letters, digits, '.', '_', '-' and ':'", header, startNanoseconds: start)
                return
            }
        }
        let follow = Follow(requestID: header.requestID, namespace: namespace, position: max(from, 1), agents: agents.isEmpty ? nil : agents, kinds: kinds.isEmpty ? nil : kinds)
        if follows.isEmpty { mailbox.registerFollower(self) }
        follows[follow.requestID] = follow
        server.metrics.followCount.add(1, ordering: .relaxed)
        server.metrics.record(.episodicFollow, status: .ok, nanoseconds: Self.now() - start)
        push(follow, .followPush(nextPosition: follow.position, episodes: []))
        pump(follow)
    }

    func unfollow(_ requestID: UInt64, _ header: FrameHeader, _ start: UInt64) {
        guard let follow = follows[requestID] else {
            answer(.existed(false), header, start)
            return
        }
        endFollow(follow, .followEnd(nextPosition: follow.position))
        answer(.existed(true), header, start)
    }

    /// After a commit that appended episodes: every follow that is not paused reads on.
    func wakeFollows() {
        guard phase == .ready else { return }
        for follow in follows.values where !follow.paused && !follow.pumpScheduled {
            pump(follow)
        }
    }

    /// Reads and pushes until the follow catches up, fills its buffer, or used its turn.
    func pump(_ follow: Follow) {
        follow.pumpScheduled = false
        guard phase == .ready, follows[follow.requestID] === follow else { return }
        let limits = server.limits
        let pageCount = server.store.limits.episodeFollowPageCountMax
        var pages = 0
        while true {
            if follow.bufferedBytes >= limits.followBufferedBytesMax {
                if !follow.paused {
                    follow.paused = true
                    server.metrics.followPauses.increment()
                    server.metrics.followPauseCount.add(1, ordering: .relaxed)
                }
                return
            }
            if follow.position >= server.store.episodicNextPosition { return }
            if pages == limits.followPagesPerTurnMax {
                schedulePump(follow)
                return
            }
            pages += 1
            let page: EpisodeScanPage
            do {
                page = try server.store.scanEpisodes(namespace: follow.namespace, from: follow.position, limit: pageCount, agents: follow.agents, kinds: follow.kinds)
            } catch {
                endFollow(follow, .failure(Status(error), message: error.wireMessage))
                return
            }
            pushPage(follow, page)
        }
    }

    /// Writes a scanned page as push frames while the follow's buffer has room; the episodes
    /// left over are read again from the follow's position next time.
    private func pushPage(_ follow: Follow, _ page: EpisodeScanPage) {
        let frameBytesMax = server.limits.followFrameBytesMax - FrameHeader.byteCount - 12
        let episodes = page.episodes
        var index = 0
        if episodes.isEmpty {
            follow.position = max(follow.position, page.nextPosition)
            return
        }
        while index < episodes.count && follow.bufferedBytes < server.limits.followBufferedBytesMax {
            var batch: [WireEpisode] = []
            var bytes = 0
            while index < episodes.count {
                let episode = WireEpisode(episodes[index])
                if !batch.isEmpty && bytes + episode.wireByteCount > frameBytesMax { break }
                batch.append(episode)
                bytes += episode.wireByteCount
                index += 1
            }
            let next = index == episodes.count ? page.nextPosition : episodes[index].position
            push(follow, .followPush(nextPosition: next, episodes: batch))
            follow.position = next
        }
    }

    private func schedulePump(_ follow: Follow) {
        guard !follow.pumpScheduled else { return }
        follow.pumpScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in pump(follow) }
    }

    /// Writes one frame of the follow, after every answer written before it, and counts its
    /// bytes until the socket has taken them.
    private func push(_ follow: Follow, _ response: Response) {
        flushOutput()
        var buffer = context.channel.allocator.buffer(capacity: 256)
        FrameEncoder.writeFrame(into: &buffer, opcode: .episodicFollow, requestID: follow.requestID, status: response.status, flags: response.flags) { response.encodeBody(into: &$0) }
        let bytes = buffer.readableBytes
        follow.bufferedBytes += bytes
        server.metrics.followBufferedBytes.add(bytes, ordering: .relaxed)
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            follow.bufferedBytes -= bytes
            server.metrics.followBufferedBytes.subtract(bytes, ordering: .relaxed)
            if phase != .closed && follow.paused && follow.bufferedBytes < server.limits.followBufferedBytesMax {
                follow.paused = false
                schedulePump(follow)
            }
        }
        lastActivityNanoseconds = Self.now()
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
    }

    /// Sends the follow's last frame (no `more` flag) and forgets it.
    func endFollow(_ follow: Follow, _ last: Response) {
        guard follows.removeValue(forKey: follow.requestID) != nil else { return }
        if follows.isEmpty { mailbox.unregisterFollower(self) }
        server.metrics.followCount.subtract(1, ordering: .relaxed)
        if phase != .closed { push(follow, last) }
    }

    /// Ends every follow: the server is stopping, or the connection closed.
    func endAllFollows(_ last: (Follow) -> Response) {
        for follow in Array(follows.values).sorted(by: { $0.requestID < $1.requestID }) {
            endFollow(follow, last(follow))
        }
    }
}
