import FoundationEssentials

/// Where a campaign is in its life. The raw values are the record's status byte.
public enum CampaignStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
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
}

/// A campaign as stored (docs/RECORDS.md, "Campaign").
public struct Campaign: Sendable, Equatable {
    public var id: UUID
    public var name: String
    /// A label such as `email`, `social`, `ads`; compared byte for byte.
    public var type: String
    public var status: CampaignStatus
    /// Hundredths of the namespace's currency unit; exact.
    public var budgetCents: Int64
    public var createdAtMicroseconds: Int64
    public var updatedAtMicroseconds: Int64
    public var version: UInt64

    public init(id: UUID, name: String, type: String, status: CampaignStatus, budgetCents: Int64, createdAtMicroseconds: Int64, updatedAtMicroseconds: Int64, version: UInt64) {
        self.id = id
        self.name = name
        self.type = type
        self.status = status
        self.budgetCents = budgetCents
        self.createdAtMicroseconds = createdAtMicroseconds
        self.updatedAtMicroseconds = updatedAtMicroseconds
        self.version = version
    }

    /// The record bytes (docs/RECORDS.md), as stored and as sent on the wire.
    public var record: [UInt8] {
        CampaignLayout.encode(id: id, status: status, version: version, createdAt: createdAtMicroseconds, updatedAt: updatedAtMicroseconds,
                              budgetCents: budgetCents, name: name, type: type)
    }

    /// Decodes and checks a stored-form record; `corrupt` names what is wrong.
    public init(record: [UInt8], limits: Limits = .default) throws(EngramError) {
        self = try record.withBytes { (bytes) throws(EngramError) in
            let view = try CampaignView(bytes, source: "a campaign record")
            if let problem = view.problem(limits) { throw EngramError(.corrupt, "a campaign record \(problem)") }
            return try view.campaign()
        }
    }
}

enum CampaignLayout {
    static let formatVersion: UInt8 = 1
    /// format, status, reserved, id, version, created_at, updated_at, budget_cents.
    static let headerBytes = 52
    static let idOffset = 4

    static func encodedByteCount(name: String, type: String) -> Int {
        headerBytes + 2 + name.utf8.count + 2 + type.utf8.count
    }

    static func encode(id: UUID, status: CampaignStatus, version: UInt64, createdAt: Int64, updatedAt: Int64, budgetCents: Int64, name: String, type: String) -> [UInt8] {
        var writer = ByteWriter(capacity: encodedByteCount(name: name, type: type))
        writer.write(formatVersion)
        writer.write(status.rawValue)
        writer.write(UInt16(0))
        writer.write(contentsOf: id.bytes)
        writer.write(version)
        writer.write(createdAt)
        writer.write(updatedAt)
        writer.write(budgetCents)
        for text in [name, type] {
            let count = text.utf8.count
            precondition(count <= Int(UInt16.max), "a text of \(count) bytes passed validation")
            writer.write(UInt16(count))
            writer.write(contentsOf: text.utf8)
        }
        return writer.bytes
    }
}

/// A campaign record parsed in place; lives no longer than its buffer.
struct CampaignView {
    let bytes: UnsafeRawBufferPointer
    let status: CampaignStatus
    let version: UInt64
    let createdAt: Int64
    let updatedAt: Int64
    let budgetCents: Int64
    let name: UnsafeRawBufferPointer
    let type: UnsafeRawBufferPointer

    var id: UnsafeRawBufferPointer { bytes.slice(CampaignLayout.idOffset..<(CampaignLayout.idOffset + 16)) }
    var uuid: UUID { UUID(bytes: id) }

    init(_ bytes: UnsafeRawBufferPointer, source origin: String) throws(EngramError) {
        var reader = ByteReader(bytes, source: origin)
        let format = try reader.readUInt8("the campaign format")
        guard format == CampaignLayout.formatVersion else { throw reader.failure("campaign format \(format), expected \(CampaignLayout.formatVersion)") }
        let statusByte = try reader.readUInt8("the status")
        guard let status = CampaignStatus(rawValue: statusByte) else { throw reader.failure("campaign status \(statusByte) is reserved") }
        self.status = status
        let reserved = try reader.read(UInt16.self, "the reserved bytes")
        guard reserved == 0 else { throw reader.failure("reserved bytes are 0x\(String(reserved, radix: 16)), must be zero") }
        try reader.skip(16, "the id")
        version = try reader.read(UInt64.self, "the version")
        createdAt = try reader.read(Int64.self, "created_at")
        updatedAt = try reader.read(Int64.self, "updated_at")
        budgetCents = try reader.read(Int64.self, "budget_cents")
        name = try reader.readSlice(Int(try reader.read(UInt16.self, "the name length")), "the name")
        type = try reader.readSlice(Int(try reader.read(UInt16.self, "the type length")), "the type")
        guard reader.isAtEnd else { throw reader.failure("\(reader.remaining) bytes after the campaign's type") }
        self.bytes = bytes
    }

    func problem(_ limits: Limits) -> String? {
        if let problem = RecordText.problem(name, bytesMin: 1, bytesMax: limits.recordTextBytesMax) { return "name \(problem.description)" }
        if let problem = RecordText.problem(type, bytesMin: 1, bytesMax: limits.recordLabelBytesMax) { return "type \(problem.description)" }
        for (field, time) in [("created_at", createdAt), ("updated_at", updatedAt)] where time < 0 || time > limits.recordTimeMicrosecondsMax {
            return "\(field) \(time) is outside 0...\(limits.recordTimeMicrosecondsMax)"
        }
        if budgetCents < 0 || budgetCents > limits.campaignBudgetCentsMax { return "budget_cents \(budgetCents) is outside 0...\(limits.campaignBudgetCentsMax)" }
        return nil
    }

    func campaign() throws(EngramError) -> Campaign {
        guard let name = RecordText.string(name), let type = RecordText.string(type) else {
            throw EngramError(.corrupt, "a stored campaign's name or type is not UTF-8")
        }
        return Campaign(id: uuid, name: name, type: type, status: status, budgetCents: budgetCents, createdAtMicroseconds: createdAt,
                        updatedAtMicroseconds: updatedAt, version: version)
    }
}
