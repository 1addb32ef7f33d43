@testable import EngramStorage
import FoundationEssentials

/// The plain in-memory model lead queries are checked against: a dictionary, a filter, a sort.
struct LeadModel {
    var leads: [UUID: Lead] = [:]
    /// Case-folded email → lead id.
    var emails: [String: UUID] = [:]

    func owner(ofEmail email: String) -> UUID? { emails[RecordText.folded(email)] }

    mutating func put(_ lead: Lead) {
        if let old = leads[lead.id] { emails[RecordText.folded(old.email)] = nil }
        leads[lead.id] = lead
        emails[RecordText.folded(lead.email)] = lead.id
    }

    mutating func delete(_ id: UUID) {
        guard let old = leads.removeValue(forKey: id) else { return }
        emails[RecordText.folded(old.email)] = nil
    }

    /// A lead's sort key in `order`: compared as a tuple, smaller first.
    struct SortKey: Comparable {
        let first: Int64
        let second: Int64
        let idHigh: UInt64
        let idLow: UInt64

        init(_ lead: Lead, _ order: LeadQuery.Order) {
            self.init(score: lead.score, createdAt: lead.createdAtMicroseconds, id: lead.id, order)
        }

        init(score: Int, createdAt: Int64, id: UUID, _ order: LeadQuery.Order) {
            // Descending fields are negated so that ascending tuple order is the query order.
            switch order {
            case .scoreThenNewest: (first, second) = (-Int64(score), -createdAt)
            case .newest: (first, second) = (-createdAt, -Int64(score))
            }
            let halves = withUnsafeBytes(of: id.uuid) { ($0.bigEndianUInt64(at: 0), $0.bigEndianUInt64(at: 8)) }
            (idHigh, idLow) = halves
        }

        static func < (a: SortKey, b: SortKey) -> Bool {
            (a.first, a.second, a.idHigh, a.idLow) < (b.first, b.second, b.idHigh, b.idLow)
        }
    }

    /// Whether `a` comes before `b` in `order` (docs/RECORDS.md, "Lead query").
    static func precedes(_ a: Lead, _ b: Lead, _ order: LeadQuery.Order) -> Bool {
        SortKey(a, order) < SortKey(b, order)
    }

    /// Whether `lead` sorts strictly after the cursor's position.
    static func isAfter(_ lead: Lead, _ cursor: LeadCursor) -> Bool {
        SortKey(score: cursor.score, createdAt: cursor.createdAtMicroseconds, id: cursor.id, cursor.order) < SortKey(lead, cursor.order)
    }

    func matches(_ lead: Lead, _ query: LeadQuery) -> Bool {
        lead.score >= query.scoreMin && lead.createdAtMicroseconds >= query.createdAtOrAfterMicroseconds
            && (query.status == nil || lead.status == query.status) && (query.source == nil || lead.source == query.source)
    }

    /// Every lead the query matches, in its order, ignoring limit and cursor.
    func all(_ query: LeadQuery) -> [Lead] {
        allIDs(query).map { leads[$0]! }
    }

    /// The ids of `all(query)`: sorting plain keys rather than leads keeps a 10,000-lead model
    /// fast in debug builds.
    func allIDs(_ query: LeadQuery) -> [UUID] {
        var keyed: [(SortKey, UUID)] = []
        for lead in leads.values where matches(lead, query) { keyed.append((SortKey(lead, query.order), lead.id)) }
        keyed.sort { $0.0 < $1.0 }
        return keyed.map(\.1)
    }

    /// The matching leads after the query's cursor, in order.
    func remaining(_ query: LeadQuery) -> [Lead] {
        let all = all(query)
        guard let cursor = query.cursor else { return all }
        return all.filter { Self.isAfter($0, cursor) }
    }
}
