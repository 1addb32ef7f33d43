import EngramProtocol
import NIOCore
import Synchronization

/// The frames of one follow on their way from the connection's event loop to the task that
/// iterates them, through a small bounded queue.
///
/// When `highWaterFrames` frames wait, the channel handler stops reading the socket (TCP then
/// pushes back on the server, which pauses the follow); when the consumer has taken the queue
/// down to `lowWaterFrames`, `resumeReading` lets the handler read again. So a slow consumer
/// holds at most the high-water frames plus what one socket read brings.
final class FollowSink: Sendable {
    static let highWaterFrames = 8
    static let lowWaterFrames = 2

    private struct State {
        var frames: [Frame] = []
        var head = 0
        var failure: EngramClientError?
        var waiter: CheckedContinuation<Result<Frame, EngramClientError>, Never>?
        var readingHeld = false
    }

    private let state = Mutex(State())
    /// Called, on any thread, when the consumer drained the queue after reading was held.
    let resumeReading: @Sendable () -> Void

    init(resumeReading: @escaping @Sendable () -> Void) {
        self.resumeReading = resumeReading
    }

    /// On the event loop: queues a frame; returns true when the handler should stop reading.
    func deliver(_ frame: Frame) -> Bool {
        let (waiter, hold) = state.withLock { state -> (CheckedContinuation<Result<Frame, EngramClientError>, Never>?, Bool) in
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, false)
            }
            state.frames.append(frame)
            let hold = state.frames.count - state.head >= Self.highWaterFrames
            if hold { state.readingHeld = true }
            return (nil, hold)
        }
        waiter?.resume(returning: .success(frame))
        return hold
    }

    /// On the event loop: the connection ended; frames already queued are still handed out.
    func fail(_ error: EngramClientError) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<Frame, EngramClientError>, Never>? in
            if state.failure == nil { state.failure = error }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .failure(error))
    }

    /// The next frame, or the failure that ended the connection once every queued frame is out.
    func next() async -> Result<Frame, EngramClientError> {
        await withCheckedContinuation { continuation in
            let (ready, resume) = state.withLock { state -> (Result<Frame, EngramClientError>?, Bool) in
                if state.head < state.frames.count {
                    let frame = state.frames[state.head]
                    state.head += 1
                    if state.head == state.frames.count {
                        state.frames.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    var resume = false
                    if state.readingHeld && state.frames.count - state.head <= Self.lowWaterFrames {
                        state.readingHeld = false
                        resume = true
                    }
                    return (.success(frame), resume)
                }
                if let failure = state.failure { return (.failure(failure), false) }
                state.waiter = continuation
                return (nil, false)
            }
            if resume { resumeReading() }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
