import Synchronization

/// The ledger shared by the connections' writer tasks and the checks, behind one lock.
///
/// It also tells the driver when the round's load has begun: the kill waits for the round's first
/// acknowledged write (or for every writer to have stopped, if none ever gets one), so each
/// round kills a server that was serving, however slow the machine is.
final class SharedLedger: Sendable {
    private struct State: Sendable {
        var ledger = CrashLedger()
        var writersRunning = 0
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func withLock<Result: Sendable>(_ body: (inout CrashLedger) -> Result) -> Result {
        state.withLock { body(&$0.ledger) }
    }

    /// A snapshot of the ledger.
    var current: CrashLedger { state.withLock { $0.ledger } }

    /// Starts a round with `writers` writer tasks.
    func beginRound(writers: Int) {
        state.withLock {
            $0.ledger.roundAcknowledged = 0
            $0.writersRunning = writers
        }
    }

    /// Records an acknowledged write of `connection`: applies `update`, clears its write in
    /// flight, and wakes the driver at the round's first acknowledgement.
    func acknowledge(connection: Int, _ update: (inout CrashLedger) -> Void) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            update(&state.ledger)
            state.ledger.uncertain[connection] = nil
            state.ledger.roundAcknowledged += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// A writer has stopped; the last one wakes the driver, so it never waits for a write that
    /// cannot come.
    func writerStopped() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.writersRunning -= 1
            guard state.writersRunning == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns once the round has an acknowledged write or no writer is left; returns the count.
    func waitForLoad() async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.ledger.roundAcknowledged > 0 || state.writersRunning == 0 { return true }
                precondition(state.waiter == nil, "two waiters for one round's load")
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { $0.ledger.roundAcknowledged }
    }
}
