import EngramProtocol
import NIOCore
import NIOPosix

/// How a follow reconnects after its connection breaks or its server restarts.
public struct FollowReconnectPolicy: Sendable {
    /// Give up (and throw the last error) when no subscription succeeded for this long.
    public var givingUpMilliseconds: Int
    /// The first pause between attempts; each failure doubles it up to `delayMaxMilliseconds`.
    public var delayMilliseconds: Int
    public var delayMaxMilliseconds: Int

    public init(givingUpMilliseconds: Int = 30_000, delayMilliseconds: Int = 50, delayMaxMilliseconds: Int = 2_000) {
        self.givingUpMilliseconds = givingUpMilliseconds
        self.delayMilliseconds = delayMilliseconds
        self.delayMaxMilliseconds = delayMaxMilliseconds
    }
}

/// A namespace's episodic stream as an `AsyncSequence` (docs/PROTOCOL.md, "episodic follow"):
/// every matching episode from a position on, in position order, as they commit.
///
/// Each iterator opens its own connection (a follow's slow consumer stops its connection's
/// reading, which must not hold back other requests). When the connection breaks or the server
/// goes away, the iterator reconnects and follows again from the position after the last episode
/// it delivered, so the consumer sees every episode exactly once, with no gap and no repeat. It
/// throws the server's refusal (`forbidden`, `invalidArgument`), a `corrupt` block, or the last
/// connection error once `FollowReconnectPolicy.givingUpMilliseconds` pass without a
/// subscription. It ends (nil) when the task is cancelled. Dropping the iterator closes its
/// connection.
public struct EpisodeStream: AsyncSequence, Sendable {
    public typealias Element = WireEpisode
    public typealias Failure = EngramClientError

    let configuration: EngramClientConfiguration
    let group: any EventLoopGroup
    let namespace: String
    let start: UInt64
    let agents: [String]
    let kinds: [UInt16]
    let policy: FollowReconnectPolicy

    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = WireEpisode
        public typealias Failure = EngramClientError

        let stream: EpisodeStream
        /// Where a resumed follow starts: every matching episode below it has been delivered.
        public private(set) var position: UInt64
        /// Subscriptions made after the first: each one a resumed follow.
        public private(set) var reconnectCount = 0
        private var session: Session?
        private var subscribedOnce = false
        private var frame: [WireEpisode] = []
        private var frameIndex = 0
        private var frameNext: UInt64 = 0

        init(stream: EpisodeStream) {
            self.stream = stream
            self.position = Swift.max(stream.start, 1)
        }

        public mutating func next() async throws(EngramClientError) -> WireEpisode? {
            while true {
                if frameIndex < frame.count {
                    let episode = frame[frameIndex]
                    frameIndex += 1
                    position = frameIndex == frame.count ? Swift.max(frameNext, episode.position + 1) : episode.position + 1
                    return episode
                }
                if Task.isCancelled {
                    session = nil
                    return nil
                }
                if session == nil {
                    session = try await subscribe()
                }
                switch await session!.nextFrame() {
                case .success(let response):
                    switch response {
                    case .followPush(let next, let episodes):
                        frame = episodes
                        frameIndex = 0
                        frameNext = next
                        if episodes.isEmpty { position = Swift.max(position, next) }
                    case .followEnd:
                        session = nil
                        return nil
                    case .failure(let status, _) where status == .shuttingDown:
                        session = nil
                    case .failure(let status, let message):
                        session = nil
                        throw EngramClientError(.server(status), message)
                    default:
                        session = nil
                        throw EngramClientError(.protocolViolation, "unexpected answer \(response) to a follow")
                    }
                case .failure(let error):
                    session = nil
                    if Task.isCancelled { return nil }
                    guard error.code == .connectionClosed || error.code == .notExecuted || error.code == .protocolViolation || error.code == .connectFailed else { throw error }
                }
            }
        }

        /// Connects and follows from `position`, retrying with growing pauses until the policy
        /// gives up.
        private mutating func subscribe() async throws(EngramClientError) -> Session {
            let policy = stream.policy
            let deadline = NIODeadline.now() + .milliseconds(Int64(policy.givingUpMilliseconds))
            var delay = policy.delayMilliseconds
            while true {
                do throws(EngramClientError) {
                    let connection = try await EngramConnection.connect(stream.configuration, group: stream.group)
                    let request = Request.episodicFollow(namespace: stream.namespace, from: position, agents: stream.agents, kinds: stream.kinds)
                    let sink: FollowSink
                    do throws(EngramClientError) {
                        sink = try await connection.follow(request)
                    } catch {
                        connection.channel.close(promise: nil)
                        throw error
                    }
                    if subscribedOnce { reconnectCount += 1 }
                    subscribedOnce = true
                    return Session(connection: connection, sink: sink)
                } catch {
                    guard error.isRetryable || error.code == .connectionClosed, NIODeadline.now() < deadline, !Task.isCancelled else { throw error }
                }
                try? await Task.sleep(for: .milliseconds(delay))
                delay = Swift.min(delay * 2, policy.delayMaxMilliseconds)
            }
        }
    }

    /// One subscription's connection; closing it when the iterator lets go of it.
    final class Session: Sendable {
        let connection: EngramConnection
        let sink: FollowSink

        init(connection: EngramConnection, sink: FollowSink) {
            self.connection = connection
            self.sink = sink
        }

        deinit {
            connection.channel.close(promise: nil)
        }

        /// The next frame, decoded; a cancelled task ends the wait with `connectionClosed`.
        func nextFrame() async -> Result<Response, EngramClientError> {
            let sink = self.sink
            let result = await withTaskCancellationHandler {
                await sink.next()
            } onCancel: {
                sink.fail(EngramClientError(.connectionClosed, "the follow's task was cancelled"))
            }
            switch result {
            case .success(let frame):
                do {
                    return .success(try Response.decode(frame))
                } catch {
                    return .failure(EngramClientError(.protocolViolation, "\(error)"))
                }
            case .failure(let error):
                return .failure(error)
            }
        }
    }
}
