import CSystemShims

/// Starts the kernel's writeback of LMDB's dirty pages every few milliseconds, from a thread of
/// its own.
///
/// LMDB runs with `MDB_NOSYNC`, so its pages sit dirty in the page cache until a checkpoint's
/// `fdatasync`; if they all waited for that moment, the checkpoint would stall the writer thread
/// for as long as the disk takes to write them. `sync_file_range(SYNC_FILE_RANGE_WRITE)` queues
/// them without waiting, so the checkpoint finds little left to do. It changes nothing about
/// durability: only the checkpoint's `fdatasync` is relied on.
final class WritebackKicker: @unchecked Sendable {
    private let descriptor: Int32
    private let intervalNanoseconds: UInt64
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var stopping = false
    private var finished = false

    init(descriptor: Int32, intervalMilliseconds: Int) {
        self.descriptor = descriptor
        self.intervalNanoseconds = UInt64(intervalMilliseconds) * 1_000_000
    }

    func start() {
        startThread(name: "engram-writeback") { [self] in run() }
    }

    /// Stops the thread and waits for it; call before LMDB's file is closed.
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
            while !finished { lock.wait(untilNanoseconds: nil) }
        }
    }

    private func run() {
        while true {
            let stop = lock.withLock { () -> Bool in
                if !stopping { lock.wait(untilNanoseconds: monotonicNanoseconds() + intervalNanoseconds) }
                return stopping
            }
            if stop { break }
            // A failure here (EIO) will show at the checkpoint's fdatasync, which is checked.
            _ = engram_start_writeback(descriptor)
        }
        lock.withLock {
            finished = true
            lock.broadcast()
        }
    }
}
