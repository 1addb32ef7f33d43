import EngramProtocol

/// What a row of an import file holds (docs/IMPORT.md): a lead, a campaign or a metric event.
public enum ImportKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case lead
    case campaign
    case metric

    public var description: String { rawValue }

    /// The kind for people: "leads", "campaigns", "metric events".
    public var plural: String {
        switch self {
        case .lead: "leads"
        case .campaign: "campaigns"
        case .metric: "metric events"
        }
    }
}

/// A column of a CSV header or a field of a JSON line. The names are the PostgreSQL schema's
/// (`Benchmarks/peers/postgres/leads_schema.sql`, docs/EXPORT.md), so a `COPY ... TO` of the
/// leads table loads as it is.
public enum ImportColumn: String, Sendable, CaseIterable {
    case kind
    case id
    case email
    case name
    case company
    case source
    case category
    case score
    case status
    case metadata
    case createdAt = "created_at"
    case updatedAt = "updated_at"
    case type
    case budgetCents = "budget_cents"
    case campaignID = "campaign_id"
    case time
    case sent
    case opened
    case clicked
    case converted

    /// Whether rows of `kind` read this column; a row of another kind must leave it empty. A
    /// switch, not a set: it runs for every field of every row.
    func isField(of kind: ImportKind) -> Bool {
        switch self {
        case .kind: true
        case .id, .name, .status, .createdAt, .updatedAt: kind != .metric
        case .email, .company, .source, .category, .score, .metadata: kind == .lead
        case .type, .budgetCents: kind == .campaign
        case .campaignID, .time, .sent, .opened, .clicked, .converted: kind == .metric
        }
    }

    /// Whether a row of its kind must give it.
    func isRequired(for kind: ImportKind) -> Bool {
        switch (self, kind) {
        case (.email, .lead), (.score, .lead): true
        case (.name, .campaign), (.type, .campaign), (.status, .campaign): true
        case (.campaignID, .metric), (.time, .metric): true
        default: false
        }
    }

    static let byName: [String: ImportColumn] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// The column of `name`, or nil; names are exact (lower case, as the schema's).
    public init?(name: String) {
        guard let column = Self.byName[name] else { return nil }
        self = column
    }
}

/// One field's value as the file gave it. CSV gives `text` or, for an empty field, `null`; a JSON
/// line gives every case. Owned by the row being built.
enum ImportValue: Equatable {
    case null
    case text(String)
    /// A JSON number, as written.
    case number(String)
    case boolean(Bool)
    /// A JSON object or array, its bytes as written.
    case json([UInt8])
}

/// A bad row: its line, the column where it went wrong when that is known, and why.
///
/// `column` is 1-based: in CSV the field's position in the record (and `field` the header's name
/// for it); in JSON Lines the byte in the line where the member's value starts, or where the
/// syntax went wrong. A row the server refused names the field its message names (the server's
/// messages start with the field: "score 101 is outside 0...100", "email ... already belongs").
public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int?
    /// The column's name, when the row has one there.
    public var field: String?
    /// The server's status name for a refusal ("alreadyExists"), or "unreadable" for a row the
    /// import could not read.
    public var status: String
    public var message: String

    public init(line: Int, column: Int? = nil, field: String? = nil, status: String, message: String) {
        self.line = line
        self.column = column
        self.field = field
        self.status = status
        self.message = message
    }

    /// "line 7, column 3 (score)", or less when less is known.
    public var place: String {
        var text = "line \(line)"
        if let column { text += ", column \(column)" }
        if let field { text += column == nil ? ", field \(field)" : " (\(field))" }
        return text
    }

    public var description: String { "\(place): \(status): \(message)" }
}

/// A failure that ends the import before it is done: the file cannot be read, its header names a
/// column this format does not have, a row is longer than `ImportLimits.rowBytesMax`. These are
/// usage errors (exit 64); a bad row is a `RowError`.
public struct ImportFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Every bound the import has, with its reason.
public enum ImportLimits {
    /// A row (a CSV record, a JSON line) may be at most this long: a lead is at most about
    /// 17 KiB (16 KiB of metadata), so 1 MiB is a file that is not what it claims to be.
    public static let rowBytesMax = 1 << 20
    /// Bytes read from the file at a time.
    public static let readBytes = 1 << 20
    /// Requests in flight at once by default: the server's writer takes every request queued
    /// when it starts a batch (up to its `batchBytesMax`), so the more are queued the fewer
    /// batches, seals and syncs a load costs. 200,000 leads on a loaded two-core machine: 8 in
    /// flight made about 60 writer batches and took 5.0 to 6.4 s, 32 about 20 batches and 3.6 to
    /// 5.0 s, 64 made 7 to 9 batches and took 3.4 to 3.6 s (and the least server CPU).
    public static let inFlightBatchCountDefault = 64
    /// The most requests in flight the import allows: the server's own bound per connection is
    /// 128, and 64 requests of at most `requestRecordBytesMax` bound the client's memory to
    /// 64 MiB (16 MB for typical leads).
    public static let inFlightBatchCountMax = 64
    /// Bytes of records one request carries at most: the server's default
    /// `upsertBatchRequestBytesMax` (docs/PROTOCOL.md, "Upsert batches"), which its hello does not
    /// report. A request is cut at this or the frame limit, whichever binds first.
    public static let requestRecordBytesMax = 1 << 20
    /// Row errors kept in full for the summary; past it only a count is kept.
    public static let errorsKeptMax = 1_000
}
