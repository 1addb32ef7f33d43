#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The hot tier's source of time, for TTLs. Injectable so tests control time.
///
/// Called once per operation from any thread, so it must be cheap and thread-safe. Only
/// differences between readings are used; the clock must never go backwards.
public protocol HotTierClock: Sendable {
    /// Milliseconds since an arbitrary fixed origin.
    func nowMilliseconds() -> UInt64
}

/// The store's clock: `CLOCK_MONOTONIC_COARSE`, read from the vDSO in a few nanoseconds, with the
/// kernel tick's resolution (1 to 4 ms), which is plenty for TTLs counted in seconds.
public struct HotTierCoarseClock: HotTierClock {
    public init() {}

    @inline(__always)
    public func nowMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return UInt64(now.tv_sec) * 1_000 + UInt64(now.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told, for tests (of the store and of the servers built on it).
public final class HotTierManualClock: HotTierClock {
    private let milliseconds: Atomic<UInt64>

    public init(milliseconds: UInt64 = 0) {
        self.milliseconds = Atomic(milliseconds)
    }

    public func nowMilliseconds() -> UInt64 { milliseconds.load(ordering: .acquiring) }

    /// Moves the clock forward; it never moves back.
    public func advance(milliseconds delta: UInt64) {
        milliseconds.add(delta, ordering: .acquiringAndReleasing)
    }

    public func advance(seconds: UInt64) { advance(milliseconds: seconds * 1_000) }
}
