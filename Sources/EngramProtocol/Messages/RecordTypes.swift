import NIOCore

/// The typed records of docs/RECORDS.md as they travel: the same bytes the store keeps. The
/// protocol carries each as `[u32 length][record]`; these types build and read the record bytes so
/// a client needs nothing else. Field rules (score range, email shape, JSON metadata) are the
/// server's to check; decoding checks the format byte, the reserved zeros and every length.
public struct WireLead: Sendable, Hashable {
    /// `createdAtMicroseconds` in an upsert: "the batch time" (docs/RECORDS.md, "Upsert request form").
    public static let createdAtUnset: Int64 = -1

    public var id: WireUUID
    public var score: UInt8
    public var version: UInt64
    public var createdAtMicroseconds: Int64
    public var updatedAtMicroseconds: Int64
    public var email: String
    public var name: String
    public var company: String
    public var source: String
    public var category: String
    public var status: String
    /// One JSON text, or empty for none.
    public var metadata: [UInt8]

    public init(id: WireUUID, email: String, name: String = "", company: String = "", source: String = "", category: String = "", score: UInt8, status: String, metadata: [UInt8] = [], createdAtMicroseconds: Int64 = WireLead.createdAtUnset, updatedAtMicroseconds: Int64 = 0, version: UInt64 = 0) {
        self.id = id
        self.score = score
        self.version = version
        self.createdAtMicroseconds = createdAtMicroseconds
        self.updatedAtMicroseconds = updatedAtMicroseconds
        self.email = email
        self.name = name
        self.company = company
        self.source = source
        self.category = category
        self.status = status
        self.metadata = metadata
    }

    /// The record bytes: format 1.
    /// Written straight into an array of its exact length: bulk loads build one per row, and a
    /// `ByteBuffer` between cost an allocation and a copy each.
    public var record: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(recordByteCount)
        bytes.append(1)
        bytes.append(score)
        bytes.append(contentsOf: [0, 0])
        bytes.append(contentsOf: id.bytes)
        Self.appendLittleEndian(version, to: &bytes)
        Self.appendLittleEndian(createdAtMicroseconds, to: &bytes)
        Self.appendLittleEndian(updatedAtMicroseconds, to: &bytes)
        func appendText(_ text: String) {
            Self.appendLittleEndian(UInt16(truncatingIfNeeded: text.utf8.count), to: &bytes)
            bytes.append(contentsOf: text.utf8)
        }
        appendText(email)
        appendText(name)
        appendText(company)
        appendText(source)
        appendText(category)
        appendText(status)
        Self.appendLittleEndian(UInt32(truncatingIfNeeded: metadata.count), to: &bytes)
        bytes.append(contentsOf: metadata)
        return bytes
    }

    static func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The length of `record`, counted without building it: 44 fixed bytes, six texts of
    /// `[u16 length][UTF-8]` and the metadata as `[u32 length][bytes]`.
    public var recordByteCount: Int {
        44 + 6 * 2 + email.utf8.count + name.utf8.count + company.utf8.count + source.utf8.count + category.utf8.count + status.utf8.count + 4 + metadata.count
    }

    /// Appends `record` to `buffer`, as a response page does for each lead, with no array between.
    public func writeRecord(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(score)
        buffer.writeInteger(UInt16(0), endianness: .little)
        buffer.writeBytes(id.bytes)
        buffer.writeInteger(version, endianness: .little)
        buffer.writeInteger(createdAtMicroseconds, endianness: .little)
        buffer.writeInteger(updatedAtMicroseconds, endianness: .little)
        RecordCodec.writeText(email, into: &buffer)
        RecordCodec.writeText(name, into: &buffer)
        RecordCodec.writeText(company, into: &buffer)
        RecordCodec.writeText(source, into: &buffer)
        RecordCodec.writeText(category, into: &buffer)
        RecordCodec.writeText(status, into: &buffer)
        buffer.writeValue(metadata)
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireLead {
        try RecordCodec.checkFormat(&reader, reservedBytes: 0, "lead")
        let score = try reader.read(UInt8.self, "lead score")
        guard try reader.read(UInt16.self, "lead reserved") == 0 else { throw reader.failure("a lead's reserved bytes are not zero") }
        let id = WireUUID(bytes: try reader.readBytes(16, "lead id"))
        let version = try reader.read(UInt64.self, "lead version")
        let created = try reader.read(Int64.self, "lead created_at")
        let updated = try reader.read(Int64.self, "lead updated_at")
        // Each field named by a literal: the names are formatted only for an error.
        let email = try RecordCodec.readText(&reader, "lead email")
        let name = try RecordCodec.readText(&reader, "lead name")
        let company = try RecordCodec.readText(&reader, "lead company")
        let source = try RecordCodec.readText(&reader, "lead source")
        let category = try RecordCodec.readText(&reader, "lead category")
        let status = try RecordCodec.readText(&reader, "lead status")
        let metadata = try reader.readValue("lead metadata")
        return WireLead(id: id, email: email, name: name, company: company, source: source, category: category, score: score, status: status, metadata: metadata, createdAtMicroseconds: created, updatedAtMicroseconds: updated, version: version)
    }
}

/// A campaign's status byte (docs/RECORDS.md, "Campaign").
public enum WireCampaignStatus: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case draft = 1
    case active = 2
    case paused = 3
    case completed = 4

    public var description: String {
        switch self {
        case .draft: "draft"
        case .active: "active"
        case .paused: "paused"
        case .completed: "completed"
        }
    }

    public init?(name: String) {
        guard let status = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = status
    }
}

public struct WireCampaign: Sendable, Hashable {
    public var id: WireUUID
    public var status: WireCampaignStatus
    public var version: UInt64
    public var createdAtMicroseconds: Int64
    public var updatedAtMicroseconds: Int64
    public var budgetCents: Int64
    public var name: String
    public var type: String

    public init(id: WireUUID, name: String, type: String, status: WireCampaignStatus, budgetCents: Int64, createdAtMicroseconds: Int64 = WireLead.createdAtUnset, updatedAtMicroseconds: Int64 = 0, version: UInt64 = 0) {
        self.id = id
        self.status = status
        self.version = version
        self.createdAtMicroseconds = createdAtMicroseconds
        self.updatedAtMicroseconds = updatedAtMicroseconds
        self.budgetCents = budgetCents
        self.name = name
        self.type = type
    }

    public var record: [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(status.rawValue)
        buffer.writeInteger(UInt16(0), endianness: .little)
        buffer.writeBytes(id.bytes)
        buffer.writeInteger(version, endianness: .little)
        buffer.writeInteger(createdAtMicroseconds, endianness: .little)
        buffer.writeInteger(updatedAtMicroseconds, endianness: .little)
        buffer.writeInteger(budgetCents, endianness: .little)
        RecordCodec.writeText(name, into: &buffer)
        RecordCodec.writeText(type, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireCampaign {
        try RecordCodec.checkFormat(&reader, reservedBytes: 0, "campaign")
        let rawStatus = try reader.read(UInt8.self, "campaign status")
        guard let status = WireCampaignStatus(rawValue: rawStatus) else { throw reader.failure("campaign status \(rawStatus) is not 1 to 4") }
        guard try reader.read(UInt16.self, "campaign reserved") == 0 else { throw reader.failure("a campaign's reserved bytes are not zero") }
        let id = WireUUID(bytes: try reader.readBytes(16, "campaign id"))
        let version = try reader.read(UInt64.self, "campaign version")
        let created = try reader.read(Int64.self, "campaign created_at")
        let updated = try reader.read(Int64.self, "campaign updated_at")
        let budget = try reader.read(Int64.self, "campaign budget_cents")
        let name = try RecordCodec.readText(&reader, "campaign name")
        let type = try RecordCodec.readText(&reader, "campaign type")
        return WireCampaign(id: id, name: name, type: type, status: status, budgetCents: budget, createdAtMicroseconds: created, updatedAtMicroseconds: updated, version: version)
    }
}

/// One campaign metric event: exactly 52 bytes.
public struct WireMetricEvent: Sendable, Hashable {
    public static let byteCount = 52
    public var campaignID: WireUUID
    public var timeMicroseconds: Int64
    /// Given by the store; 0 in an append.
    public var sequence: UInt64
    public var sent: UInt32
    public var opened: UInt32
    public var clicked: UInt32
    public var converted: UInt32

    public init(campaignID: WireUUID, timeMicroseconds: Int64, sequence: UInt64 = 0, sent: UInt32, opened: UInt32, clicked: UInt32, converted: UInt32) {
        self.campaignID = campaignID
        self.timeMicroseconds = timeMicroseconds
        self.sequence = sequence
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.converted = converted
    }

    public var record: [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeBytes([1, 0, 0, 0])
        buffer.writeBytes(campaignID.bytes)
        buffer.writeInteger(timeMicroseconds, endianness: .little)
        buffer.writeInteger(sequence, endianness: .little)
        for count in [sent, opened, clicked, converted] { buffer.writeInteger(count, endianness: .little) }
        return Array(buffer.readableBytesView)
    }
}

/// Sums of a campaign's events (docs/RECORDS.md, "Totals"): exactly 48 bytes. Rates are derived.
public struct WireTotals: Sendable, Hashable {
    public var eventCount: UInt64
    public var sent: UInt64
    public var opened: UInt64
    public var clicked: UInt64
    public var converted: UInt64

    public init(eventCount: UInt64 = 0, sent: UInt64 = 0, opened: UInt64 = 0, clicked: UInt64 = 0, converted: UInt64 = 0) {
        self.eventCount = eventCount
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.converted = converted
    }

    /// Each 0 when nothing was sent.
    public var openRate: Double { sent == 0 ? 0 : Double(opened) / Double(sent) }
    public var clickRate: Double { sent == 0 ? 0 : Double(clicked) / Double(sent) }
    public var conversionRate: Double { sent == 0 ? 0 : Double(converted) / Double(sent) }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes([1, 0, 0, 0, 0, 0, 0, 0])
        for value in [eventCount, sent, opened, clicked, converted] { buffer.writeInteger(value, endianness: .little) }
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireTotals {
        try RecordCodec.checkFormat(&reader, reservedBytes: 7, "totals")
        return WireTotals(eventCount: try reader.read(UInt64.self, "event_count"), sent: try reader.read(UInt64.self, "sent"), opened: try reader.read(UInt64.self, "opened"), clicked: try reader.read(UInt64.self, "clicked"), converted: try reader.read(UInt64.self, "converted"))
    }
}

/// A campaign with its performance summary (`campaign_id:uuid totals` on the wire, after the
/// campaign's record).
public struct WireCampaignSummary: Sendable, Hashable {
    public var campaign: WireCampaign
    public var totals: WireTotals

    public init(campaign: WireCampaign, totals: WireTotals) {
        self.campaign = campaign
        self.totals = totals
    }
}

/// Where a campaign query or the active summaries resume: the last campaign returned.
public struct WireCampaignCursor: Sendable, Hashable {
    public var status: WireCampaignStatus
    public var type: String
    public var id: WireUUID

    public init(status: WireCampaignStatus, type: String, id: WireUUID) {
        self.status = status
        self.type = type
        self.id = id
    }
}

public struct WireHourlyBucket: Sendable, Hashable {
    public var hourStartMicroseconds: Int64
    public var totals: WireTotals

    public init(hourStartMicroseconds: Int64, totals: WireTotals) {
        self.hourStartMicroseconds = hourStartMicroseconds
        self.totals = totals
    }
}

/// The lead query's parameters (docs/RECORDS.md, "Lead query").
public struct WireLeadQuery: Sendable, Hashable {
    public enum Order: UInt8, Sendable, Hashable {
        case scoreThenNewest = 1
        case newest = 2
    }

    public var scoreMin: UInt8
    /// 0 or less: no time filter.
    public var createdAtOrAfterMicroseconds: Int64
    public var status: String?
    public var source: String?
    public var order: Order
    public var limit: UInt32
    /// The opaque 27-byte cursor of the previous page, or nil for the first.
    public var cursor: [UInt8]?

    public init(scoreMin: UInt8 = 0, createdAtOrAfterMicroseconds: Int64 = 0, status: String? = nil, source: String? = nil, order: Order = .scoreThenNewest, limit: UInt32, cursor: [UInt8]? = nil) {
        self.scoreMin = scoreMin
        self.createdAtOrAfterMicroseconds = createdAtOrAfterMicroseconds
        self.status = status
        self.source = source
        self.order = order
        self.limit = limit
        self.cursor = cursor
    }
}

/// One item's outcome in an upsert batch's answer (docs/PROTOCOL.md, "Upsert batches").
public enum WireUpsertOutcome: Sendable, Hashable {
    /// The item is stored: its request record with this version, this created_at and the
    /// answer's updated_at.
    case stored(version: UInt64, createdAtMicroseconds: Int64)
    /// The item is not stored; `status` is never `ok`.
    case refused(Status, message: String)

    /// An item's message is cut to this many bytes, so that a batch of 1,024 refusals stays
    /// about half a megabyte, far under the response frame limit.
    public static let messageBytesMax = 512
}
