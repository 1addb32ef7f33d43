import EngramProtocol

/// One import record and the line it came from.
public enum ImportRecord: Sendable, Equatable {
    case lead(WireLead)
    case campaign(WireCampaign)
    case metric(WireMetricEvent)

    public var kind: ImportKind {
        switch self {
        case .lead: .lead
        case .campaign: .campaign
        case .metric: .metric
        }
    }
}

public struct ImportRow: Sendable, Equatable {
    public var line: Int
    public var record: ImportRecord
}

/// Collects one row's values by column and turns them into a record, with the field rules of
/// docs/IMPORT.md. Reused from row to row, so a row costs no table of its own.
struct RowBuilder {
    private var values: [ImportValue]
    private var given: [Bool]
    let defaultKind: ImportKind

    init(defaultKind: ImportKind) {
        self.defaultKind = defaultKind
        values = Array(repeating: .null, count: ImportColumn.allCases.count)
        given = Array(repeating: false, count: ImportColumn.allCases.count)
    }

    /// The columns in `allCases` order, so a position in `values` names its column.
    private static let columns = ImportColumn.allCases

    /// The column's position in `values`. `ImportColumn`'s raw values are its names, so its
    /// position is looked up once per type in a table, not hashed per field.
    @inline(__always)
    static func index(_ column: ImportColumn) -> Int {
        switch column {
        case .kind: 0
        case .id: 1
        case .email: 2
        case .name: 3
        case .company: 4
        case .source: 5
        case .category: 6
        case .score: 7
        case .status: 8
        case .metadata: 9
        case .createdAt: 10
        case .updatedAt: 11
        case .type: 12
        case .budgetCents: 13
        case .campaignID: 14
        case .time: 15
        case .sent: 16
        case .opened: 17
        case .clicked: 18
        case .converted: 19
        }
    }

    mutating func reset() {
        for index in values.indices where given[index] {
            values[index] = .null
            given[index] = false
        }
    }

    /// Sets a column; a JSON line naming a field twice is refused (CSV headers are checked once).
    mutating func set(_ column: ImportColumn, _ value: ImportValue) throws(RowFailure) {
        let index = Self.index(column)
        guard !given[index] else { throw RowFailure("\(column.rawValue) is given twice", field: column) }
        given[index] = true
        values[index] = value
    }

    private func value(_ column: ImportColumn) -> ImportValue { values[Self.index(column)] }

    /// The row as a record of its kind (the `kind` column's, or the default).
    func build() throws(RowFailure) -> ImportRecord {
        let kind: ImportKind
        switch value(.kind) {
        case .null: kind = defaultKind
        case .text(let name):
            guard let named = ImportKind(rawValue: name) else { throw RowFailure("kind \"\(name)\" is not lead, campaign or metric", field: .kind) }
            kind = named
        default: throw RowFailure("kind must be a string: lead, campaign or metric", field: .kind)
        }
        for index in given.indices where given[index] && values[index] != .null {
            let column = Self.columns[index]
            guard column.isField(of: kind) else { throw RowFailure("\(column.rawValue) is not a field of a \(kind) row", field: column) }
        }
        for column in Self.columns where column.isRequired(for: kind) && value(column) == .null {
            throw RowFailure("a \(kind) row needs \(column.rawValue)", field: column)
        }
        switch kind {
        case .lead: return .lead(try lead())
        case .campaign: return .campaign(try campaign())
        case .metric: return .metric(try metric())
        }
    }

    private func lead() throws(RowFailure) -> WireLead {
        WireLead(
            id: try uuid(.id) ?? FactID.random(), email: try text(.email), name: try text(.name), company: try text(.company),
            source: try text(.source), category: try text(.category), score: try integer(.score, UInt8.self),
            status: try text(.status, default: "new"), metadata: try json(.metadata),
            createdAtMicroseconds: try time(.createdAt) ?? WireLead.createdAtUnset)
    }

    private func campaign() throws(RowFailure) -> WireCampaign {
        let statusName = try text(.status)
        let status: WireCampaignStatus
        if let named = WireCampaignStatus(name: statusName) {
            status = named
        } else if let number = UInt8(statusName), let numbered = WireCampaignStatus(rawValue: number) {
            status = numbered
        } else {
            throw RowFailure("status \"\(statusName)\" is not draft, active, paused or completed", field: .status)
        }
        return WireCampaign(
            id: try uuid(.id) ?? FactID.random(), name: try text(.name), type: try text(.type), status: status,
            budgetCents: try integer(.budgetCents, Int64.self) ?? 0, createdAtMicroseconds: try time(.createdAt) ?? WireLead.createdAtUnset)
    }

    private func metric() throws(RowFailure) -> WireMetricEvent {
        WireMetricEvent(
            campaignID: try uuid(.campaignID)!, timeMicroseconds: try time(.time)!,
            sent: try integer(.sent, UInt32.self) ?? 0, opened: try integer(.opened, UInt32.self) ?? 0,
            clicked: try integer(.clicked, UInt32.self) ?? 0, converted: try integer(.converted, UInt32.self) ?? 0)
    }

    // MARK: Field rules

    private func text(_ column: ImportColumn, default fallback: String = "") throws(RowFailure) -> String {
        switch value(column) {
        case .null: return fallback
        case .text(let text): return text
        default: throw RowFailure("\(column.rawValue) must be a string", field: column)
        }
    }

    /// A whole number in `Value`'s range, written in decimal (a JSON number or CSV text).
    private func integer<Value: FixedWidthInteger>(_ column: ImportColumn, _: Value.Type) throws(RowFailure) -> Value? {
        let written: String
        switch value(column) {
        case .null: return nil
        case .text(let text): written = text
        case .number(let number): written = number
        default: throw RowFailure("\(column.rawValue) must be a whole number", field: column)
        }
        guard let number = Value(written) else {
            throw RowFailure("\(column.rawValue) \"\(written)\" is not a whole number from \(Value.min) to \(Value.max)", field: column)
        }
        return number
    }

    private func integer<Value: FixedWidthInteger>(_ column: ImportColumn, _ type: Value.Type) throws(RowFailure) -> Value {
        guard let number: Value = try integer(column, type) else { throw RowFailure("a row needs \(column.rawValue)", field: column) }
        return number
    }

    private func uuid(_ column: ImportColumn) throws(RowFailure) -> FactID? {
        switch value(column) {
        case .null: return nil
        case .text(let text):
            guard let id = FactID(text) else { throw RowFailure("\(column.rawValue) \"\(text)\" is not a UUID", field: column) }
            return id
        default: throw RowFailure("\(column.rawValue) must be a UUID string", field: column)
        }
    }

    /// Microseconds since 1970, from a whole number or a timestamp (`ImportTime`).
    private func time(_ column: ImportColumn) throws(RowFailure) -> Int64? {
        switch value(column) {
        case .null: return nil
        case .number(let number):
            guard let microseconds = Int64(number) else { throw RowFailure("\(column.rawValue) \(number) is not a whole number of microseconds", field: column) }
            return microseconds
        case .text(let text):
            if let microseconds = Int64(text) { return microseconds }
            guard let microseconds = ImportTime.microseconds(text) else {
                throw RowFailure("\(column.rawValue) \"\(text)\" is neither microseconds since 1970 nor a time like 2026-01-31T09:30:00.25Z", field: column)
            }
            return microseconds
        default: throw RowFailure("\(column.rawValue) must be a time", field: column)
        }
    }

    /// Metadata: a CSV field holds the JSON text; a JSON line holds the value itself, whatever its
    /// type. The server checks it is JSON; empty or null is none.
    private func json(_ column: ImportColumn) throws(RowFailure) -> [UInt8] {
        switch value(column) {
        case .null: return []
        case .json(let bytes): return bytes
        case .text(let text): return Array(text.utf8)
        case .number(let number): return Array(number.utf8)
        case .boolean(let value): return Array((value ? "true" : "false").utf8)
        }
    }
}

/// Why a row cannot become a record; the reader adds the line.
struct RowFailure: Error {
    let message: String
    /// The field the failure is in, when it is one field's: the reader turns it into a column.
    var field: ImportColumn?
    /// The 1-based position in the row, when the failure knows it itself (a JSON syntax error).
    var position: Int?

    init(_ message: String, field: ImportColumn? = nil, position: Int? = nil) {
        self.message = message
        self.field = field
        self.position = position
    }
}
