import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// A mutex with one condition variable, for the writer thread to sleep on until work arrives or a
/// deadline passes. `Synchronization.Mutex` has no condition variable, hence this small wrapper
/// over pthreads. The pthread objects live in heap memory that never moves.
final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        var mutexAttributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&mutexAttributes)
        precondition(pthread_mutex_init(mutex, &mutexAttributes) == 0, "pthread_mutex_init failed")
        pthread_mutexattr_destroy(&mutexAttributes)
        var conditionAttributes = pthread_condattr_t()
        pthread_condattr_init(&conditionAttributes)
        // Deadlines are measured on the monotonic clock, so a wall-clock jump cannot stall a wait.
        pthread_condattr_setclock(&conditionAttributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &conditionAttributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&conditionAttributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits, with the lock held, until signalled or until `deadlineNanoseconds` on the monotonic
    /// clock. Spurious wake-ups happen; callers re-check their condition.
    func wait(untilNanoseconds deadlineNanoseconds: UInt64?) {
        guard let deadlineNanoseconds else {
            pthread_cond_wait(condition, mutex)
            return
        }
        var deadline = timespec(tv_sec: Int(deadlineNanoseconds / 1_000_000_000), tv_nsec: Int(deadlineNanoseconds % 1_000_000_000))
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// Nanoseconds on the monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Microseconds since 1970 on the wall clock: the timestamps the store records.
func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec / 1_000)
}

/// Starts a detached OS thread running `body`. Used for the writer: it blocks in `fdatasync`, which
/// must never happen on a Swift concurrency or NIO thread.
func startThread(name: String, _ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        let name: String
        init(_ body: @escaping @Sendable () -> Void, name: String) { self.body = body; self.name = name }
    }
    let box = Unmanaged.passRetained(Box(body, name: name))
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        // The name shows in `top -H`, `perf` and debuggers (Linux keeps 15 bytes of it).
        _ = engram_set_thread_name(String(box.name.prefix(15)))
        box.body()
        return nil
    }, box.toOpaque())
    precondition(rc == 0, "pthread_create(\(name)) failed with \(rc)")
    pthread_detach(thread)
}
