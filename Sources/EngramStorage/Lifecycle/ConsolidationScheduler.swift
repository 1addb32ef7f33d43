/// The background consolidation thread (docs/LIFECYCLE.md, "Consolidation"): a pass every
/// `Limits.consolidationIntervalMilliseconds`, at once again when a pass reports more work.
///
/// Owned by the store, started at open when the interval is not 0, stopped by `close()` (and by
/// `simulateCrash()`) before the writer, so a pass never outlives the store. A pass checks the
/// stop request between its commands. Its own OS thread: a pass blocks while the writer applies
/// its commands, which must never happen on a Swift concurrency or NIO thread.
final class ConsolidationScheduler: @unchecked Sendable {
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var stopping = false
    private var finished = false

    /// Starts the thread. `store` is held until `stop()`.
    func start(_ store: EngramStore, intervalMilliseconds: Int) {
        startThread(name: "engram-consolidation") { [self] in
            run(store, intervalMilliseconds: intervalMilliseconds)
        }
    }

    var isStopping: Bool { lock.withLock { stopping } }

    /// Asks the thread to stop and waits until it has.
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
        lock.withLock {
            while !finished { lock.wait(untilNanoseconds: nil) }
        }
    }

    private func run(_ store: EngramStore, intervalMilliseconds: Int) {
        defer {
            lock.withLock {
                finished = true
                lock.broadcast()
            }
        }
        var moreWork = false
        while true {
            let wait = moreWork ? 0 : UInt64(intervalMilliseconds) * 1_000_000
            let deadline = monotonicNanoseconds() + wait
            let stop = lock.withLock { () -> Bool in
                while !stopping && monotonicNanoseconds() < deadline { lock.wait(untilNanoseconds: deadline) }
                return stopping
            }
            if stop { return }
            do {
                let report = try store.consolidate(nowMicroseconds: nil) { [self] in isStopping }
                moreWork = report.moreWorkRemains
            } catch {
                moreWork = false
                if error.code == .closed { return }
                store.configuration.eventHandler?(.consolidationFailed(error))
            }
        }
    }
}
