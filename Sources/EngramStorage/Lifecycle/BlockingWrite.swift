#if canImport(Glibc)
import Glibc
#endif

extension EngramStore {
    /// Queues `command` and waits for its outcome on the calling thread: consolidation and erase
    /// run on a thread that may wait (their own, or a caller's), never on an event loop. A full
    /// queue is retried every millisecond for up to `Limits.maintenanceWaitMilliseconds`, since
    /// maintenance yields to clients rather than failing.
    func writeAndWait<Command: WriteCommand>(_ command: Command, durability: Durability = .durable) throws(EngramError) -> Command.Outcome {
        let waiter = WriteWaiter<Command.Outcome>()
        let deadline = monotonicNanoseconds() + UInt64(limits.maintenanceWaitMilliseconds) * 1_000_000
        while true {
            do throws(EngramError) {
                try submit(command, durability: durability) { waiter.finish($0) }
                break
            } catch {
                guard error.code == .busy, monotonicNanoseconds() < deadline else { throw error }
                usleep(1_000)
            }
        }
        return try waiter.wait().get()
    }
}

/// One outcome handed from the writer thread to a waiting thread.
final class WriteWaiter<Outcome: Sendable>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var result: Result<Outcome, EngramError>?

    func finish(_ result: Result<Outcome, EngramError>) {
        lock.withLock {
            self.result = result
            lock.broadcast()
        }
    }

    func wait() -> Result<Outcome, EngramError> {
        lock.withLock {
            while result == nil { lock.wait(untilNanoseconds: nil) }
            return result!
        }
    }
}
