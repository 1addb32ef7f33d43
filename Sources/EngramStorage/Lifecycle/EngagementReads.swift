import FoundationEssentials

/// One page of a namespace's engagement summaries in lead-id order; `resumeAfter` is set when
/// more may follow.
public struct LeadEngagementPage: Sendable, Equatable {
    public let entries: [LeadEngagementEntry]
    public let resumeAfter: UUID?
}

extension EngramStore {
    /// The engagement summary consolidation folded for `lead`, or nil when none of its episodes
    /// has been folded (docs/LIFECYCLE.md, "`lead_engagement`").
    public func leadEngagement(namespace: Namespace, lead: UUID) throws(EngramError) -> LeadEngagement? {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let table = tables.lifecycle.engagement
        return try read { (transaction) throws(EngramError) -> LeadEngagement? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            return try LeadEngagementFold.stored(namespace, lead, table: table, in: transaction)
        }
    }

    /// The namespace's engagement summaries in lead-id order (the export's read), after `after`
    /// when given, at most `limit` (capped by `Limits.scanCountMax`), from one snapshot.
    public func leadEngagements(namespace: Namespace, after: UUID? = nil, limit: Int) throws(EngramError) -> LeadEngagementPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a scan limit must be positive, got \(limit)") }
        let countMax = min(limit, limits.scanCountMax)
        let table = tables.lifecycle.engagement
        let prefix = [UInt8(namespace.bytes.count)] + namespace.bytes
        let start = prefix + (after?.bytes ?? [])
        return try read { (transaction) throws(EngramError) -> LeadEngagementPage in
            if try namespaceIsErasing(namespace, in: transaction) { return LeadEngagementPage(entries: [], resumeAfter: nil) }
            return try transaction.withCursor(table) { (cursor) throws(EngramError) -> LeadEngagementPage in
                var entries: [LeadEngagementEntry] = []
                var entry = try start.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
                if after != nil, let current = entry, current.key.elementsEqual(start) { entry = try cursor.next() }
                while let current = entry, current.key.starts(with: prefix) {
                    guard current.key.count == prefix.count + 16 else {
                        throw EngramError(.corrupt, "\(table.name) key of \(current.key.count) bytes, expected \(prefix.count + 16)")
                    }
                    if entries.count == countMax { return LeadEngagementPage(entries: entries, resumeAfter: entries.last?.lead) }
                    let lead = UUID(bytes: UnsafeRawBufferPointer(rebasing: current.key[prefix.count...]))
                    entries.append(LeadEngagementEntry(lead: lead, engagement: try LeadEngagementLayout.decode(current.value, source: table.name)))
                    entry = try cursor.next()
                }
                return LeadEngagementPage(entries: entries, resumeAfter: nil)
            }
        }
    }
}
