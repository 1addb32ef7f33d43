import EngramProtocol
import EngramStorage
import NIOCore
import Synchronization

/// What the writer thread hands back to an event loop when a write finishes.
struct WriteCompletion: Sendable {
    enum Outcome: Sendable {
        case version(UInt64)
        case existed(Bool)
        /// Any other answer, encoded as the opcode's response.
        case response(Response)
        /// A snapshot the store opened after its checkpoint, for the connection to register.
        case snapshotOpened(SnapshotOpening)
        case failure(EngramError)
    }

    let connection: NIOLoopBound<ConnectionHandler>
    let opcode: EngramProtocolOpcode
    let requestID: UInt64
    let startNanoseconds: UInt64
    let outcome: Outcome
}

/// A snapshot on its way from the checkpoint thread to the connection that asked for it.
struct SnapshotOpening: Sendable {
    let snapshot: StoreSnapshot
    let namespace: Namespace
}

/// Carries write completions from the writer thread to one event loop, in batches.
///
/// The group-commit writer completes a whole batch at once; hopping to the event loop once per
/// request would cost a task and a wake-up each. Instead completions queue here and the first one
/// into an empty mailbox schedules one drain, which answers every queued request and then flushes
/// each connection it touched once. One mailbox per event loop, made at start-up.
///
/// `@unchecked Sendable`: `queued` is guarded by its mutex; `dirty` is touched only on
/// `eventLoop` (by `markDirty`, called from handlers, and by `drain`), which the preconditions check.
final class CompletionMailbox: @unchecked Sendable {
    let eventLoop: any EventLoop
    /// Requests read by this loop's connections. Per loop, so the two loops never write the same
    /// cache line; `stats` sums the loops.
    let requestCount = Atomic<UInt64>(0)
    private let queued = Mutex<[WriteCompletion]>([])
    /// Connections with answers written but not flushed; touched only on `eventLoop`.
    private var dirty: [ConnectionHandler] = []
    /// Connections of this loop with a live follow; touched only on `eventLoop`.
    private var followers: [ObjectIdentifier: ConnectionHandler] = [:]
    /// `followers.count`, readable from the commit watcher's thread so it wakes only loops that
    /// have followers.
    let followerCount = Atomic<Int>(0)

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Any thread. Schedules a drain when the mailbox was empty.
    func post(_ completion: WriteCompletion) {
        let wasEmpty = queued.withLock { queue in
            queue.append(completion)
            return queue.count == 1
        }
        if wasEmpty { eventLoop.execute { self.drain() } }
    }

    /// On the event loop: a connection asks to be flushed at the end of this drain.
    func markDirty(_ connection: ConnectionHandler) {
        eventLoop.preconditionInEventLoop()
        dirty.append(connection)
    }

    func registerFollower(_ connection: ConnectionHandler) {
        eventLoop.preconditionInEventLoop()
        followers[ObjectIdentifier(connection)] = connection
        followerCount.store(followers.count, ordering: .relaxed)
    }

    func unregisterFollower(_ connection: ConnectionHandler) {
        eventLoop.preconditionInEventLoop()
        followers.removeValue(forKey: ObjectIdentifier(connection))
        followerCount.store(followers.count, ordering: .relaxed)
    }

    /// On the event loop, after a commit that appended episodes.
    func wakeFollowers() {
        for connection in Array(followers.values) { connection.wakeFollows() }
    }

    private func drain() {
        let batch = queued.withLock { queue -> [WriteCompletion] in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for completion in batch {
            completion.connection.value.completeWrite(completion)
        }
        let connections = dirty
        dirty.removeAll(keepingCapacity: true)
        for connection in connections { connection.flushAfterDrain() }
    }
}
