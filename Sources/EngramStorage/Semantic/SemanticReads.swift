import FoundationEssentials

/// One page of facts in id order; `resumeAfter` is set when more may follow.
public struct SemanticScanPage: Sendable, Equatable {
    public let facts: [StoredFact]
    public let resumeAfter: UUID?
}

extension EngramStore {
    /// The fact with `id` in `namespace`, or nil.
    public func semanticGet(namespace: Namespace, id: UUID) throws(EngramError) -> StoredFact? {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let table = tables.semantic
        return try read { (transaction) throws(EngramError) -> StoredFact? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            return try NamespacedKey.with(namespace, id.bytes) { (key) throws(EngramError) -> StoredFact? in
                guard let stored = try transaction.get(table, key) else { return nil }
                return try SemanticFactLayout.decode(stored, id: id, source: table.name)
            }
        }
    }

    /// The facts of `namespace` in id order, after `after` when given, at most `limit` (capped by
    /// `Limits.scanCountMax`).
    public func semanticScan(namespace: Namespace, after: UUID? = nil, limit: Int) throws(EngramError) -> SemanticScanPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a scan limit must be positive, got \(limit)") }
        let countMax = min(limit, limits.scanCountMax)
        let table = tables.semantic
        let prefixBytes = NamespacedKey.prefixBytes(namespace)
        return try read { (transaction) throws(EngramError) -> SemanticScanPage in
            if try namespaceIsErasing(namespace, in: transaction) { return SemanticScanPage(facts: [], resumeAfter: nil) }
            return try transaction.withCursor(table) { (cursor) throws(EngramError) -> SemanticScanPage in
                try NamespacedKey.with(namespace, after?.bytes ?? []) { (seekKey) throws(EngramError) -> SemanticScanPage in
                    let namespacePrefix = UnsafeRawBufferPointer(rebasing: seekKey[..<prefixBytes])
                    var facts: [StoredFact] = []
                    var entry = try cursor.seek(atOrAfter: seekKey)
                    if after != nil, let current = entry, current.key.elementsEqual(seekKey) { entry = try cursor.next() }
                    while let current = entry, current.key.count == prefixBytes + 16, current.key.starts(with: namespacePrefix) {
                        let id = UUID(bytes: UnsafeRawBufferPointer(rebasing: current.key[prefixBytes...]))
                        if facts.count == countMax { return SemanticScanPage(facts: facts, resumeAfter: facts.last?.fact.id) }
                        facts.append(try SemanticFactLayout.decode(current.value, id: id, source: table.name))
                        entry = try cursor.next()
                    }
                    return SemanticScanPage(facts: facts, resumeAfter: nil)
                }
            }
        }
    }
}
