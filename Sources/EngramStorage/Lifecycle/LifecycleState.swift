import Synchronization

/// What the store knows, outside LMDB, about erase markers, and the lifecycle's batch hooks.
///
/// Owner: the store (through its writer). Two kinds of users:
/// - readers on any thread ask `markersMayExist(snapshot:)` before looking for a marker in their
///   snapshot, so a store with no erase in progress pays one atomic load per read;
/// - the writer thread (live and in replay) stages what a batch's lifecycle operations changed
///   and applies it when the batch commits (`BatchParticipant`).
///
/// `@unchecked Sendable`: `markerState` is atomic, the lifecycle procedure lock is a mutex, and
/// the staged fields are touched by the writer thread only.
final class LifecycleState: BatchParticipant, @unchecked Sendable {
    /// Bit 63 set: markers may exist in any snapshot. Clear: no snapshot whose LSN is at or above
    /// the low 63 bits holds a marker (docs/LIFECYCLE.md, "Erase").
    private let markerState = Atomic<UInt64>(LifecycleState.mayExistBit)
    private static let mayExistBit: UInt64 = 1 << 63

    let hotTier: HotTier
    /// Held by a consolidation pass or an erase for its whole run: one lifecycle procedure at a time.
    let procedureLock = Lock(())

    // Writer thread only: what the current batch changed, applied when it commits.
    private var quietAfterCommit: UInt64?
    private var hotTierActions: [(namespace: Namespace, erasing: Bool)] = []

    init(hotTier: HotTier) {
        self.hotTier = hotTier
    }

    // MARK: Readers

    /// Whether a read whose snapshot is at `snapshotLSN` must look for markers.
    func markersMayExist(snapshot snapshotLSN: UInt64) -> Bool {
        let state = markerState.load(ordering: .sequentiallyConsistent)
        return state & Self.mayExistBit != 0 || snapshotLSN < state
    }

    /// Whether the writer must look for a marker before a command that writes to a namespace.
    var markersMayExistForWriter: Bool {
        markerState.load(ordering: .sequentiallyConsistent) & Self.mayExistBit != 0
    }

    // MARK: Writer thread

    /// A marker is being put in the current batch: from now on every reader looks. Set before the
    /// batch is published, so a reader whose snapshot holds the marker has seen this store
    /// (docs/LIFECYCLE.md).
    func noteMarkerPut(in context: inout WriteContext) {
        context.enlist(self)
        quietAfterCommit = nil
        markerState.store(Self.mayExistBit, ordering: .sequentiallyConsistent)
    }

    /// A marker was removed in the current batch; if the table now holds none, readers whose
    /// snapshot is this batch or later may stop looking once it is published.
    func noteMarkerRemoved(in context: inout WriteContext) throws(EngramError) {
        context.enlist(self)
        if try !Self.anyMarker(table: context.tables.lifecycle.markers, in: context.transaction) {
            quietAfterCommit = context.transaction.snapshotLSN
        }
    }

    /// After the commit of a namespace's begin (`erasing`) or finish: the hot tier refuses or takes
    /// its writes again and drops its items.
    func noteHotTier(_ namespace: Namespace, erasing: Bool, in context: inout WriteContext) {
        context.enlist(self)
        hotTierActions.append((namespace, erasing))
    }

    func batchCommitted() throws(EngramError) {
        if let quiet = quietAfterCommit { markerState.store(quiet, ordering: .sequentiallyConsistent) }
        quietAfterCommit = nil
        for action in hotTierActions {
            if action.erasing { hotTier.erasingNamespaces.insert(action.namespace) }
            hotTier.removeNamespace(action.namespace)
            if !action.erasing { hotTier.erasingNamespaces.remove(action.namespace) }
        }
        hotTierActions.removeAll()
    }

    func batchAborted() {
        quietAfterCommit = nil
        hotTierActions.removeAll()
    }

    // MARK: Open

    /// After recovery: sets the reader state and the hot tier's refusals from the markers the
    /// store holds.
    func load(views: StoreViews, tables: Tables) throws(EngramError) {
        let table = tables.lifecycle.markers
        let erasing = try views.read { (transaction) throws(EngramError) -> (any: Bool, namespaces: [Namespace]) in
            (try Self.anyMarker(table: table, in: transaction), try Self.erasingNamespaces(table: table, in: transaction))
        }
        for namespace in erasing.namespaces { hotTier.erasingNamespaces.insert(namespace) }
        markerState.store(erasing.any ? Self.mayExistBit : 0, ordering: .sequentiallyConsistent)
    }

    static func anyMarker(table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> Bool {
        try transaction.withCursor(table) { (cursor) throws(EngramError) -> Bool in
            guard let first = try [LifecycleKey.namespaceErasure].withBytes({ (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }) else { return false }
            return first.key[0] == LifecycleKey.namespaceErasure || first.key[0] == LifecycleKey.leadErasure
        }
    }

    static func erasingNamespaces(table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> [Namespace] {
        try transaction.withCursor(table) { (cursor) throws(EngramError) -> [Namespace] in
            var found: [Namespace] = []
            var entry = try [LifecycleKey.namespaceErasure].withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key[0] == LifecycleKey.namespaceErasure {
                guard let bytes = LifecycleKey.namespace(of: current.key) else {
                    throw EngramError(.corrupt, "a namespace erase marker with a malformed key of \(current.key.count) bytes")
                }
                found.append(try Namespace(bytes: bytes))
                entry = try cursor.next()
            }
            return found
        }
    }
}
