import FoundationEssentials

extension EngramStore {
    /// The lead with `id` in `namespace`, or nil.
    public func leadGet(namespace: Namespace, id: UUID) throws(EngramError) -> Lead? {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let table = tables.records.leads
        return try read { (transaction) throws(EngramError) -> Lead? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            return try Self.lead(namespace: namespace, id: id, table: table, in: transaction)
        }
    }

    /// The lead whose email equals `email` with ASCII letters case-folded, or nil.
    public func leadGet(namespace: Namespace, email: String) throws(EngramError) -> Lead? {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        try RecordText.check(email, field: "email", bytesMin: 1, bytesMax: limits.leadEmailBytesMax)
        let tables = tables.records
        return try read { (transaction) throws(EngramError) -> Lead? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            guard let id = try LeadReading.emailOwner(namespace: namespace, email: email, table: tables.leadEmails, in: transaction) else { return nil }
            guard let lead = try Self.lead(namespace: namespace, id: id, table: tables.leads, in: transaction) else {
                throw EngramError(.corrupt, "\(tables.leadEmails.name) names lead \(id.uuidString), which does not exist")
            }
            return lead
        }
    }

    /// One page of `query` in `namespace`, decoded.
    public func leadQuery(namespace: Namespace, _ query: LeadQuery) throws(EngramError) -> LeadPage {
        var leads: [Lead] = []
        leads.reserveCapacity(min(max(query.limit, 0), limits.recordPageCountMax))
        let next = try leadQueryCounting(namespace: namespace, query) { (view) throws(EngramError) in leads.append(try view.lead()) }.next
        return LeadPage(leads: leads, next: next)
    }

    /// One page of `query`, each lead's record bytes (docs/RECORDS.md, "Lead") handed to `body`
    /// in order, borrowed from LMDB's map for the call only: a server copies them into its
    /// response without decoding. Returns the cursor of the next page, nil when complete.
    public func leadQuery(namespace: Namespace, _ query: LeadQuery, _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Void) throws(EngramError) -> LeadCursor? {
        try leadQueryCounting(namespace: namespace, query) { (view) throws(EngramError) in try body(view.bytes) }.next
    }

    /// `leadQuery` with what the page cost: index entries examined and cursor seeks.
    func leadQueryCounting(namespace: Namespace, _ query: LeadQuery, _ body: LeadQueryWalk.Visit) throws(EngramError) -> (next: LeadCursor?, examined: Int, seeks: Int) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        try Self.validate(query, limits: limits)
        let tables = tables.records
        let limits = limits
        return try read { (transaction) throws(EngramError) in
            if try namespaceIsErasing(namespace, in: transaction) { return (nil, 0, 0) }
            var walk = LeadQueryWalk(transaction: transaction, tables: tables, namespace: namespace, query: query, limits: limits)
            let next: LeadCursor?
            switch query.order {
            case .scoreThenNewest: next = try walk.runScoreOrder(after: query.cursor, body)
            case .newest: next = try walk.runNewestOrder(after: query.cursor, body)
            }
            return (next, walk.examined, walk.seeks)
        }
    }

    static func validate(_ query: LeadQuery, limits: Limits) throws(EngramError) {
        guard (0...Int(LeadLayout.scoreMax)).contains(query.scoreMin) else {
            throw EngramError(.invalidArgument, "scoreMin \(query.scoreMin) is outside 0...\(LeadLayout.scoreMax)")
        }
        guard query.limit > 0 else { throw EngramError(.invalidArgument, "a query limit must be positive, got \(query.limit)") }
        if let status = query.status {
            try RecordText.check(status, field: "status", bytesMin: 1, bytesMax: limits.recordLabelBytesMax)
        }
        if let source = query.source {
            try RecordText.check(source, field: "source", bytesMin: 0, bytesMax: limits.recordLabelBytesMax)
        }
        if let cursor = query.cursor {
            guard cursor.order == query.order else {
                throw EngramError(.invalidArgument, "the cursor belongs to the \(cursor.order) order, the query asks for \(query.order)")
            }
            guard (0...Int(LeadLayout.scoreMax)).contains(cursor.score) else {
                throw EngramError(.invalidArgument, "cursor score \(cursor.score) is outside 0...\(LeadLayout.scoreMax)")
            }
            try RecordTime.check(cursor.createdAtMicroseconds, field: "cursor created_at", limits: limits)
        }
    }

    static func lead(namespace: Namespace, id: UUID, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> Lead? {
        try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) -> Lead? in
            guard let stored = try transaction.get(table, key) else { return nil }
            let lead = try LeadView(stored, source: table.name).lead()
            guard lead.id == id else { throw EngramError(.corrupt, "\(table.name) key \(id.uuidString) holds lead \(lead.id.uuidString)") }
            return lead
        }
    }
}
