import Dispatch
import EngramStorage
import Synchronization

/// A write that holds the writer thread until released: lets a test fill the queue or gather a
/// batch deterministically.
struct BlockingCommand: WriteCommand {
    final class Gate: Sendable {
        let entered = Atomic<Bool>(false)
        /// Waited on by the writer thread (an OS thread of its own), never by a pool thread.
        let release = DispatchSemaphore(value: 0)

        /// Waits until the writer thread is inside the command, by polling: blocking a Dispatch or
        /// cooperative-pool thread on a semaphore starves the other tests on two cores.
        func waitUntilEntered() async throws {
            try await waitUntil { entered.load(ordering: .acquiring) }
        }

        /// Lets the writer go if the test has not already: every test defers it, so a test that
        /// fails early (a `waitUntil` timing out on a starved machine) does not leave the writer
        /// held, and the store's `close()` then blocking a pool thread for ever.
        func open() {
            if !opened.exchange(true, ordering: .acquiringAndReleasing) { release.signal() }
        }
        private let opened = Atomic<Bool>(false)
    }

    let gate: Gate
    var payloadByteCount: Int { 1 }

    func execute(in context: inout WriteContext) throws(EngramError) {
        gate.entered.store(true, ordering: .releasing)
        gate.release.wait()
    }
}
