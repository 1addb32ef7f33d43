import Synchronization

/// The namespaces being erased, as the hot tier sees them: their short-term items read as absent
/// and their puts and touches are refused with `.busy` (docs/LIFECYCLE.md, "Namespace erase").
///
/// Read on every hot-tier get and put, so the common case (no erase in progress) is one atomic
/// load; the set itself is behind a mutex. Updated by the store's writer thread after the commits
/// that begin and finish an erase, and at open.
final class ErasingNamespaces: Sendable {
    private let count = Atomic<Int>(0)
    private let names = Lock<Set<[UInt8]>>([])

    func contains(_ namespace: Namespace) -> Bool {
        guard count.load(ordering: .acquiring) > 0 else { return false }
        return names.withLock { $0.contains(namespace.bytes) }
    }

    func insert(_ namespace: Namespace) {
        names.withLock { names in
            names.insert(namespace.bytes)
            count.store(names.count, ordering: .releasing)
        }
    }

    func remove(_ namespace: Namespace) {
        names.withLock { names in
            names.remove(namespace.bytes)
            count.store(names.count, ordering: .releasing)
        }
    }

    /// The refusal a write to an erasing namespace gets.
    static func refusal(_ namespace: Namespace) -> EngramError {
        EngramError(.busy, "namespace \(namespace.name) is being erased; it takes writes again when the erase finishes")
    }
}
