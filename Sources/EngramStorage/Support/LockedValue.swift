#if canImport(Glibc)
import Glibc
#endif
/// A value behind a pthread mutex, for state shared between threads that `--sanitize thread` runs
/// must check. `Synchronization.Mutex` would be the natural choice, but ThreadSanitizer on Linux
/// does not see its futex as synchronization and reports every access under it as a race, which
/// buries real reports; it sees pthread mutexes.
///
/// `@unchecked Sendable`: `value` is touched only inside `withLock`.
final class LockedValue<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
