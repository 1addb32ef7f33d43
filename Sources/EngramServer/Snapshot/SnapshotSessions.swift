import EngramProtocol
import EngramStorage
import NIOCore

/// The snapshots one connection holds open (docs/PROTOCOL.md, "Snapshots and export").
///
/// Owned by the connection's handler and touched only on its event loop. A snapshot belongs to the
/// connection that opened it: it ends when the client closes it, when the connection closes, or
/// when `Limits.snapshotHoldSecondsMax` has passed since it opened (its read transaction pins LMDB
/// pages, so no client may hold one for long).
struct SnapshotSessions {
    final class Session {
        let id: UInt64
        let snapshot: StoreSnapshot
        let namespace: Namespace
        var streams: [UInt8: SnapshotStreamState] = [:]
        var expiry: Scheduled<Void>?

        init(id: UInt64, snapshot: StoreSnapshot, namespace: Namespace) {
            self.id = id
            self.snapshot = snapshot
            self.namespace = namespace
        }
    }

    private(set) var sessions: [UInt64: Session] = [:]
    private var nextID: UInt64 = 1
    /// Ids closed by the hold limit, so a later read can say why its snapshot is gone. Bounded:
    /// ids are forgotten past `expiredRememberedCountMax`, and then answered as unknown.
    private var expired: [UInt64] = []
    static let expiredRememberedCountMax = 16

    mutating func add(_ snapshot: StoreSnapshot, namespace: Namespace) -> Session {
        let session = Session(id: nextID, snapshot: snapshot, namespace: namespace)
        nextID += 1
        sessions[session.id] = session
        return session
    }

    subscript(id: UInt64) -> Session? { sessions[id] }

    func wasExpired(_ id: UInt64) -> Bool { expired.contains(id) }

    /// Closes one snapshot; returns whether it was open.
    @discardableResult
    mutating func close(_ id: UInt64, expired isExpired: Bool = false) -> Bool {
        guard let session = sessions.removeValue(forKey: id) else { return false }
        session.expiry?.cancel()
        session.snapshot.close()
        if isExpired {
            expired.append(id)
            if expired.count > Self.expiredRememberedCountMax { expired.removeFirst() }
        }
        return true
    }

    /// Closes every snapshot of the connection, when it closes.
    mutating func closeAll() {
        for id in Array(sessions.keys) { close(id) }
    }
}

/// Where one stream of one snapshot stands between chunks.
struct SnapshotStreamState {
    let stream: SnapshotStream
    let since: UInt64
    var nextChunkIndex: UInt32 = 0
    var isFinished = false
    var keys = SnapshotKeyCursor()
    var positions = SnapshotPositionCursor()
    var months = SnapshotMonthCursor()
    /// Months already sent, so each goes out once (at most one per month of 0001-9999).
    var monthsSent: Set<Int64> = []
    /// The row-counts stream: the table being counted (an index into `countedTables`) and its
    /// count so far.
    var countedTableIndex = 0
    var countSoFar: UInt64 = 0

    static let countedTables: [(SnapshotTable, SnapshotStream)] = [
        (.leads, .leads), (.campaigns, .campaigns), (.campaignEvents, .campaignMetricEvents), (.longTerm, .longTerm), (.semantic, .semantic),
    ]

    init(stream: SnapshotStream, since: UInt64) {
        self.stream = stream
        self.since = since
        // Episodes are in position order: a stream since a position starts right after it.
        if stream == .episodes { positions = SnapshotPositionCursor(after: since) }
    }
}
