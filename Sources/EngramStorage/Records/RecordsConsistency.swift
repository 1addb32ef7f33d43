import FoundationEssentials

/// One breach of the records' consistency rules (docs/RECORDS.md, "Consistency rules").
public struct RecordsProblem: Sendable, Equatable, CustomStringConvertible {
    /// The table holding the entry at fault.
    public let table: String
    /// The entry's full key.
    public let key: [UInt8]
    public let message: String

    public var description: String { "\(table) \(printable(key)): \(message)" }
}

/// What a consistency check saw and found.
public struct RecordsConsistencyReport: Sendable, Equatable {
    public var leadCount = 0
    public var campaignCount = 0
    public var eventCount = 0
    public var summaryCount = 0
    public var hourlyBucketCount = 0
    public var problems: [RecordsProblem] = []
    /// Whether the check stopped at its problem bound; more problems may exist.
    public var problemsTruncated = false

    public var isConsistent: Bool { problems.isEmpty }
}

extension EngramStore {
    /// Checks every record, index entry, summary and hourly bucket of every namespace in one
    /// snapshot, and reports each breach with its table and key, up to `problemCountMax`. Reads
    /// everything: minutes for tens of millions of records; meant for tests and the verify tool.
    public func checkRecordsConsistency(problemCountMax: Int = 1_000) throws(EngramError) -> RecordsConsistencyReport {
        guard problemCountMax > 0 else { throw EngramError(.invalidArgument, "problemCountMax must be positive, got \(problemCountMax)") }
        let tables = tables.records
        let limits = limits
        return try read { (transaction) throws(EngramError) -> RecordsConsistencyReport in
            var checker = RecordsChecker(transaction: transaction, tables: tables, limits: limits, problemCountMax: problemCountMax)
            try checker.checkLeads()
            try checker.checkLeadIndexes()
            try checker.checkCampaigns()
            try checker.checkMetrics()
            return checker.report
        }
    }
}

/// The consistency check's state: one read transaction, the report being built.
struct RecordsChecker {
    let transaction: StoreTransaction
    let tables: RecordTables
    let limits: Limits
    let problemCountMax: Int
    var report = RecordsConsistencyReport()

    init(transaction: StoreTransaction, tables: RecordTables, limits: Limits, problemCountMax: Int) {
        self.transaction = transaction
        self.tables = tables
        self.limits = limits
        self.problemCountMax = problemCountMax
    }

    var full: Bool { report.problemsTruncated }

    mutating func problem(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, _ message: String) {
        guard !full else { return }
        if report.problems.count == problemCountMax {
            report.problemsTruncated = true
            return
        }
        report.problems.append(RecordsProblem(table: table.name, key: Array(key), message: message))
    }

    /// Calls `body` with every entry of `table` in key order, until the problem bound is reached.
    mutating func forEach(_ table: LMDBDatabase, _ body: (inout RecordsChecker, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(EngramError) -> Void) throws(EngramError) {
        let cursor = try transaction.cursor(table)
        defer { cursor.close() }
        var entry = try cursor.first()
        while let current = entry, !full {
            try body(&self, current.key, current.value)
            entry = try cursor.next()
        }
    }

    /// The namespace a key starts with and the prefix's length, or nil (with a problem reported).
    mutating func namespace(of key: UnsafeRawBufferPointer, in table: LMDBDatabase) -> (Namespace, Int)? {
        guard let length = key.first.map(Int.init), key.count > length,
              let namespace = try? Namespace(bytes: Array(key.slice(1..<(1 + length)))) else {
            problem(table, key, "the key does not start with a valid namespace")
            return nil
        }
        return (namespace, 1 + length)
    }

    func get(_ table: LMDBDatabase, _ key: [UInt8]) throws(EngramError) -> UnsafeRawBufferPointer? {
        try key.withBytes { (key) throws(EngramError) in try transaction.get(table, key) }
    }

    // MARK: Leads

    /// Rules 1 and 2 for leads: each record decodes, sits under its own id, and has its entries.
    mutating func checkLeads() throws(EngramError) {
        let tables = tables
        try forEach(tables.leads) { (checker, key, value) throws(EngramError) in
            checker.report.leadCount += 1
            guard let (namespace, prefixBytes) = checker.namespace(of: key, in: tables.leads) else { return }
            guard key.count == prefixBytes + 16 else { return checker.problem(tables.leads, key, "a lead key must end in a 16-byte id") }
            let view: LeadView
            do throws(EngramError) {
                view = try LeadView(value, source: tables.leads.name)
            } catch {
                return checker.problem(tables.leads, key, "the record does not decode: \(error.message)")
            }
            if let problem = view.problem(checker.limits) { checker.problem(tables.leads, key, "the record \(problem)") }
            guard key.slice(prefixBytes..<key.count).elementsEqual(view.id) else {
                return checker.problem(tables.leads, key, "the key's id differs from the record's \(view.uuid.uuidString)")
            }
            let keys = LeadIndexKeys(namespace: namespace, view)
            let owner = try checker.get(tables.leadEmails, keys.email)
            if owner == nil {
                checker.problem(tables.leads, key, "no \(tables.leadEmails.name) entry for its email")
            } else if let owner, !owner.elementsEqual(view.id) {
                checker.problem(tables.leads, key, "its email's \(tables.leadEmails.name) entry names another lead, \(owner.count == 16 ? UUID(bytes: owner).uuidString : "\(owner.count) bytes")")
            }
            if try checker.get(tables.leadScores, keys.score) == nil { checker.problem(tables.leads, key, "no \(tables.leadScores.name) entry for its score and created_at") }
            if try checker.get(tables.leadStatuses, keys.status) == nil { checker.problem(tables.leads, key, "no \(tables.leadStatuses.name) entry for its status, score and created_at") }
        }
    }

    /// Rule 3: every index entry names a live lead whose fields give exactly its key.
    mutating func checkLeadIndexes() throws(EngramError) {
        let tables = tables
        try forEach(tables.leadEmails) { (checker, key, value) throws(EngramError) in
            guard let (namespace, _) = checker.namespace(of: key, in: tables.leadEmails) else { return }
            guard value.count == 16 else { return checker.problem(tables.leadEmails, key, "the value is \(value.count) bytes, expected a 16-byte id") }
            try checker.checkIndexEntry(tables.leadEmails, key, namespace: namespace, id: value) { $0.email }
        }
        for table in [tables.leadScores, tables.leadStatuses] {
            try forEach(table) { (checker, key, value) throws(EngramError) in
                guard let (namespace, prefixBytes) = checker.namespace(of: key, in: table) else { return }
                let tailBytes = table == tables.leadScores ? 25 : 27
                guard key.count >= prefixBytes + tailBytes else { return checker.problem(table, key, "the key is too short for its layout") }
                guard value.isEmpty else { return checker.problem(table, key, "an index value must be empty, it is \(value.count) bytes") }
                let id = key.slice((key.count - 16)..<key.count)
                try checker.checkIndexEntry(table, key, namespace: namespace, id: id) { table == tables.leadScores ? $0.score : $0.status }
            }
        }
    }

    /// The lead `id` exists and `expected` of its index keys equals `key`.
    mutating func checkIndexEntry(_ table: LMDBDatabase, _ key: UnsafeRawBufferPointer, namespace: Namespace, id: UnsafeRawBufferPointer, _ expected: (LeadIndexKeys) -> [UInt8]) throws(EngramError) {
        let stored = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(id) }) { (leadKey) throws(EngramError) in
            try transaction.get(tables.leads, leadKey).map { (bytes) throws(EngramError) -> LeadIndexKeys? in
                (try? LeadView(bytes, source: tables.leads.name)).map { LeadIndexKeys(namespace: namespace, $0) }
            }
        }
        guard let stored else { return problem(table, key, "names lead \(UUID(bytes: id).uuidString), which does not exist") }
        guard let keys = stored else { return } // the record's own problem is reported by checkLeads
        if !expected(keys).elementsEqual(key) {
            problem(table, key, "is stale: lead \(UUID(bytes: id).uuidString)'s fields give \(printable(expected(keys)))")
        }
    }
}
