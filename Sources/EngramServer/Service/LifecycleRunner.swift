import EngramStorage
import NIOPosix
import Synchronization

/// Runs the lifecycle requests (consolidate, erase) off the event loops.
///
/// A pass or an erase blocks its thread while the writer applies its bounded steps, for up to a
/// pass's `consolidationPassMilliseconds` or for a whole erase, so it must never run on an event
/// loop. One thread is enough: the store runs one lifecycle procedure at a time anyway, and a
/// second would only wait for the first. At most `lifecycleRequestCountMax` requests wait or run
/// at once; past that a request is answered `busy` at once. Owned by the server context; shut
/// down by `EngramServer.shutdown()` after the connections are drained, which waits for the
/// running request (an erase finishes what it started).
final class LifecycleRunner: Sendable {
    private let pool: NIOThreadPool
    private let pendingCount = Atomic<Int>(0)
    let countMax: Int

    init(countMax: Int) {
        self.countMax = countMax
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// Runs `work` on the lifecycle thread, with `isActive` false when the runner was shut down
    /// before its turn (so the request is still answered); returns false, and `work` is not run,
    /// when `countMax` requests are already waiting or running.
    func run(_ work: @escaping @Sendable (_ isActive: Bool) -> Void) -> Bool {
        let previous = pendingCount.wrappingAdd(1, ordering: .relaxed).oldValue
        guard previous < countMax else {
            pendingCount.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        pool.submit { [self] state in
            defer { pendingCount.wrappingSubtract(1, ordering: .relaxed) }
            if case .active = state { work(true) } else { work(false) }
        }
        return true
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
