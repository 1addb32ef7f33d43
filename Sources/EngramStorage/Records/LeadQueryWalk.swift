import FoundationEssentials

/// Runs one page of a lead query in a read transaction (docs/RECORDS.md, "Lead query"): walks
/// `lead_scores` (or `lead_statuses` under one status) in the query's order, reads each candidate's
/// record, applies the source filter, and hands each matching lead to the caller.
///
/// Lives for one page, inside the transaction's closure; what `visit` is given is borrowed for
/// the call only.
struct LeadQueryWalk {
    /// Receives each matching lead, parsed in place; borrowed for the call only.
    typealias Visit = (LeadView) throws(EngramError) -> Void

    enum Step {
        case next
        case finish(LeadCursor?)
    }

    let transaction: StoreTransaction
    let leads: LMDBDatabase
    let index: LMDBDatabase
    let namespace: Namespace
    /// The index's key prefix: `ns`, or `ns status 0x00`.
    let prefix: [UInt8]
    let order: LeadQuery.Order
    let scoreMin: UInt8
    let createdMin: Int64
    let source: [UInt8]?
    let limit: Int
    let examineMax: Int
    /// Index entries examined and seeks made: what the page cost (tests check the plans with it).
    private(set) var examined = 0
    private(set) var seeks = 0
    private var returned = 0
    private var lastReturned: LeadPosition?
    private var lastExamined: LeadPosition?

    init(transaction: StoreTransaction, tables: RecordTables, namespace: Namespace, query: LeadQuery, limits: Limits) {
        self.transaction = transaction
        leads = tables.leads
        self.namespace = namespace
        var prefix = [UInt8(namespace.bytes.count)] + namespace.bytes
        if let status = query.status {
            index = tables.leadStatuses
            prefix += Array(status.utf8) + [0]
        } else {
            index = tables.leadScores
        }
        self.prefix = prefix
        order = query.order
        scoreMin = UInt8(query.scoreMin)
        createdMin = max(0, query.createdAtOrAfterMicroseconds)
        source = query.source.map { Array($0.utf8) }
        limit = min(query.limit, limits.recordPageCountMax)
        examineMax = limits.leadQueryExamineCountMax
    }

    /// The index key `prefix` + `build`'s bytes, for a seek.
    private func withKey<Result>(_ build: (inout KeyWriter) -> Void, _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
        let prefix = prefix
        return try RecordKeys.with({ writer in
            prefix.withUnsafeBytes { writer.append($0) }
            build(&writer)
        }, body)
    }

    /// The entry's position if it is an index entry under `prefix`, nil past the prefix's range.
    private func position(_ entry: StoreCursor.Entry?) throws(EngramError) -> LeadPosition? {
        guard let entry, entry.key.starts(with: prefix) else { return nil }
        guard entry.key.count == prefix.count + 25 else {
            throw EngramError(.corrupt, "\(index.name) key of \(entry.key.count) bytes under a prefix of \(prefix.count), expected \(prefix.count + 25)")
        }
        return LeadPosition(indexTail: entry.key.slice(prefix.count..<entry.key.count))
    }

    // MARK: Score then newest

    mutating func runScoreOrder(after cursor: LeadCursor?, _ visit: Visit) throws(EngramError) -> LeadCursor? {
        try transaction.withCursor(index) { (lmdb) throws(EngramError) -> LeadCursor? in
            var entry: StoreCursor.Entry?
            if let cursor {
                let start = LeadPosition(cursor)
                seeks += 1
                entry = try withKey({ start.appendTail(&$0) }) { (key) throws(EngramError) in
                    var found = try lmdb.seek(atOrAfter: key)
                    if let current = found, current.key.elementsEqual(key) { found = try lmdb.next() }
                    return found
                }
            } else {
                seeks += 1
                entry = try withKey({ $0.append(RecordKeys.scoreDescending(LeadLayout.scoreMax)) }) { (key) throws(EngramError) in try lmdb.seek(atOrAfter: key) }
            }
            while let position = try position(entry) {
                if position.score < scoreMin { return nil }
                if position.createdAt < createdMin {
                    // Every later entry of this score is older: go to the next lower score.
                    if position.score == scoreMin { return nil }
                    seeks += 1
                    entry = try withKey({ $0.append(RecordKeys.scoreDescending(position.score - 1)) }) { (key) throws(EngramError) in try lmdb.seek(atOrAfter: key) }
                    continue
                }
                if case .finish(let next) = try consider(position, visit) { return next }
                entry = try lmdb.next()
            }
            return nil
        }
    }

    // MARK: Newest

    mutating func runNewestOrder(after cursor: LeadCursor?, _ visit: Visit) throws(EngramError) -> LeadCursor? {
        try transaction.withCursor(index) { (lmdb) throws(EngramError) -> LeadCursor? in
            var heads: [LeadPosition] = []
            heads.reserveCapacity(Int(LeadLayout.scoreMax - scoreMin) + 1)
            for score in scoreMin...LeadLayout.scoreMax {
                seeks += 1
                if let head = try firstHead(score: score, after: cursor.map(LeadPosition.init), lmdb) { heads.append(head) }
            }
            while !heads.isEmpty {
                var best = 0
                for candidate in 1..<heads.count where heads[candidate].isNewer(than: heads[best]) { best = candidate }
                let position = heads[best]
                if case .finish(let next) = try consider(position, visit) { return next }
                seeks += 1
                let following = try withKey({ position.appendTail(&$0) }) { (key) throws(EngramError) -> LeadPosition? in
                    _ = try lmdb.seek(atOrAfter: key)
                    return try self.position(try lmdb.next())
                }
                if let following, following.score == position.score, following.createdAt >= createdMin {
                    heads[best] = following
                } else {
                    heads.remove(at: best)
                }
            }
            return nil
        }
    }

    /// The first entry of one score's run that sorts after `start` in the newest order and passes
    /// the time filter.
    private func firstHead(score: UInt8, after start: LeadPosition?, _ lmdb: StoreCursor) throws(EngramError) -> LeadPosition? {
        var skipEqual = false
        let found = try withKey({ writer in
            writer.append(RecordKeys.scoreDescending(score))
            guard let start else { return }
            if score > start.score {
                // Only entries strictly older than the start: created_desc one past the start's.
                let descending = RecordKeys.createdDescending(start.createdAt)
                writer.appendBigEndian(descending == .max ? descending : descending + 1)
            } else if score == start.score {
                writer.appendBigEndian(RecordKeys.createdDescending(start.createdAt))
                writer.appendBigEndian(start.idHigh)
                writer.appendBigEndian(start.idLow)
                skipEqual = true
            } else {
                writer.appendBigEndian(RecordKeys.createdDescending(start.createdAt))
            }
        }) { (key) throws(EngramError) -> LeadPosition? in
            var entry = try lmdb.seek(atOrAfter: key)
            if skipEqual, let current = entry, current.key.elementsEqual(key) { entry = try lmdb.next() }
            return try position(entry)
        }
        guard let found, found.score == score, found.createdAt >= createdMin else { return nil }
        if let start, score > start.score, found.createdAt >= start.createdAt { return nil } // start at created 0: nothing is older
        return found
    }

    // MARK: Candidates

    /// Examines one index entry in order: reads its record, filters by source, hands a match to
    /// `visit` or, when the page is full, ends the page with a cursor.
    private mutating func consider(_ position: LeadPosition, _ visit: Visit) throws(EngramError) -> Step {
        if examined == examineMax { return .finish(lastExamined?.cursor(order)) }
        examined += 1
        let full = returned == limit
        let namespace = namespace, leads = leads, source = source
        let matched = try RecordKeys.with({ writer in
            writer.append(namespace: namespace)
            writer.appendBigEndian(position.idHigh)
            writer.appendBigEndian(position.idLow)
        }) { (key) throws(EngramError) -> Bool in
            guard let record = try transaction.get(leads, key) else {
                throw EngramError(.corrupt, "\(index.name) names lead \(position.id.uuidString), which does not exist")
            }
            let view = try LeadView(record, source: leads.name)
            guard view.score == position.score, view.createdAt == position.createdAt else {
                throw EngramError(.corrupt, "\(index.name) entry of lead \(position.id.uuidString) has score \(position.score) and created_at \(position.createdAt), the record \(view.score) and \(view.createdAt)")
            }
            if let source, !view.source.elementsEqual(source) { return false }
            if !full { try visit(view) }
            return true
        }
        lastExamined = position
        if matched {
            if full { return .finish(lastReturned?.cursor(order)) }
            returned += 1
            lastReturned = position
        }
        return .next
    }
}
