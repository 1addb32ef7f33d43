/// Where the walk for lead months stands: at `score` (100 down to 0), among leads created before
/// `createdBefore`.
public struct SnapshotMonthCursor: Sendable, Hashable {
    public var score: Int
    public var createdBefore: Int64
    public var isFinished: Bool

    public init(score: Int = 100, createdBefore: Int64 = .max, isFinished: Bool = false) {
        self.score = score
        self.createdBefore = createdBefore
        self.isFinished = isFinished
    }
}

extension StoreSnapshot {
    /// Calls `visit` with the start (UTC, microseconds) of each month in which a lead of
    /// `namespace` was created, making at most `seekCountMax` index seeks. A month may be visited
    /// more than once (once per score that has leads in it); callers keep a set.
    ///
    /// It skips through the `lead_scores` index (docs/RECORDS.md): within one score, entries are
    /// newest first, so after finding the newest lead of a month, one seek lands on the newest lead
    /// of an earlier month. The cost is one seek per (score, month) pair that has leads, not one
    /// step per lead.
    public func leadMonths(namespace: Namespace, cursor: inout SnapshotMonthCursor, seekCountMax: Int, _ visit: (Int64) -> Void) throws(EngramError) {
        guard !cursor.isFinished else { return }
        let table = store.tables.records.leadScores
        var walk = cursor
        try withTransaction { (transaction, _) throws(EngramError) in
            try transaction.withCursor(table) { (lmdb) throws(EngramError) in
                var seeks = 0
                while walk.score >= 0 {
                    if seeks == seekCountMax { return }
                    seeks += 1
                    let score = UInt8(walk.score)
                    let before = walk.createdBefore
                    // Times are never negative: nothing is older than a month starting at 0.
                    let found = before <= 0 ? nil : try RecordKeys.with({ writer in
                        writer.append(namespace: namespace)
                        writer.append(RecordKeys.scoreDescending(score))
                        // Entries created at or before `before - 1`, the newest first.
                        writer.appendBigEndian(before == .max ? 0 : RecordKeys.createdDescending(before - 1))
                    }) { (key) throws(EngramError) -> Int64? in
                        let prefix = key.slice(0..<(key.count - 8))
                        guard let entry = try lmdb.seek(atOrAfter: key), entry.key.starts(with: prefix),
                              entry.key.count == prefix.count + 8 + 16 else { return nil }
                        return RecordKeys.createdAt(fromDescending: entry.key.bigEndianUInt64(at: prefix.count))
                    }
                    if let created = found {
                        let month = UTCCalendar.monthStart(created)
                        visit(month)
                        walk.createdBefore = month
                    } else {
                        walk.score -= 1
                        walk.createdBefore = .max
                    }
                }
                walk.isFinished = true
            }
        }
        cursor = walk
    }
}
