import FoundationEssentials

/// A lead as stored: a person who might buy, their score and status (docs/RECORDS.md, "Lead").
public struct Lead: Sendable, Equatable {
    public var id: UUID
    /// As written; unique in its namespace with ASCII letters case-folded.
    public var email: String
    public var name: String
    public var company: String
    public var source: String
    public var category: String
    /// 0 to 100.
    public var score: Int
    public var status: String
    /// One JSON text, or empty for none.
    public var metadata: [UInt8]
    /// Set by the first upsert and kept after.
    public var createdAtMicroseconds: Int64
    /// The batch time of the last upsert.
    public var updatedAtMicroseconds: Int64
    /// A store-wide number given at each upsert; grows with every change of this lead.
    public var version: UInt64

    public init(id: UUID, email: String, name: String = "", company: String = "", source: String = "", category: String = "", score: Int, status: String, metadata: [UInt8] = [], createdAtMicroseconds: Int64, updatedAtMicroseconds: Int64, version: UInt64) {
        self.id = id
        self.email = email
        self.name = name
        self.company = company
        self.source = source
        self.category = category
        self.score = score
        self.status = status
        self.metadata = metadata
        self.createdAtMicroseconds = createdAtMicroseconds
        self.updatedAtMicroseconds = updatedAtMicroseconds
        self.version = version
    }

    /// The record bytes (docs/RECORDS.md), as stored and as sent on the wire.
    public var record: [UInt8] {
        LeadLayout.encode(id: id, score: UInt8(clamping: score), version: version, createdAt: createdAtMicroseconds, updatedAt: updatedAtMicroseconds,
                          texts: [email, name, company, source, category, status], metadata: metadata)
    }

    /// Decodes and checks a stored-form record; `corrupt` names what is wrong.
    public init(record: [UInt8], limits: Limits = .default) throws(EngramError) {
        self = try record.withBytes { (bytes) throws(EngramError) in
            let view = try LeadView(bytes, source: "a lead record")
            if let problem = view.problem(limits) { throw EngramError(.corrupt, "a lead record \(problem)") }
            return try view.lead()
        }
    }
}

/// The lead record's fixed offsets and its encoder.
enum LeadLayout {
    static let formatVersion: UInt8 = 1
    static let scoreMax: UInt8 = 100
    /// format, score, reserved, id, version, created_at, updated_at.
    static let headerBytes = 44
    /// The header plus six text lengths and the metadata length: a record with every field empty.
    static let fixedBytes = headerBytes + 6 * 2 + 4
    static let idOffset = 4
    static let versionOffset = 20
    static let createdOffset = 28
    static let updatedOffset = 36
    /// The `created_at` of an upsert request that asks for the batch time.
    static let createdAtUnset: Int64 = -1

    static func encodedByteCount(texts: [String], metadata: [UInt8]) -> Int {
        fixedBytes + texts.reduce(0) { $0 + $1.utf8.count } + metadata.count
    }

    /// Encodes `texts` in record order: email, name, company, source, category, status. Lengths
    /// were validated (`LeadUpsert.validate`); a text longer than a u16 is a programmer error.
    static func encode(id: UUID, score: UInt8, version: UInt64, createdAt: Int64, updatedAt: Int64, texts: [String], metadata: [UInt8]) -> [UInt8] {
        precondition(texts.count == 6, "a lead has six texts, got \(texts.count)")
        var writer = ByteWriter(capacity: encodedByteCount(texts: texts, metadata: metadata))
        writer.write(formatVersion)
        writer.write(score)
        writer.write(UInt16(0))
        writer.write(contentsOf: id.bytes)
        writer.write(version)
        writer.write(createdAt)
        writer.write(updatedAt)
        for text in texts {
            let count = text.utf8.count
            precondition(count <= Int(UInt16.max), "a text of \(count) bytes passed validation")
            writer.write(UInt16(count))
            writer.write(contentsOf: text.utf8)
        }
        writer.write(UInt32(metadata.count))
        writer.write(contentsOf: metadata)
        return writer.bytes
    }
}

/// A lead record parsed in place: every field a slice of the borrowed bytes. Lives no longer than
/// the buffer it was made from (for LMDB values, the transaction).
struct LeadView {
    let bytes: UnsafeRawBufferPointer
    let score: UInt8
    let version: UInt64
    let createdAt: Int64
    let updatedAt: Int64
    let email: UnsafeRawBufferPointer
    let name: UnsafeRawBufferPointer
    let company: UnsafeRawBufferPointer
    let source: UnsafeRawBufferPointer
    let category: UnsafeRawBufferPointer
    let status: UnsafeRawBufferPointer
    let metadata: UnsafeRawBufferPointer

    var id: UnsafeRawBufferPointer { bytes.slice(LeadLayout.idOffset..<(LeadLayout.idOffset + 16)) }
    var uuid: UUID { UUID(bytes: id) }

    /// Parses the layout: format, reserved bytes, score range, every length, nothing after the end.
    /// The field contents are checked by `problem(_:)`.
    init(_ bytes: UnsafeRawBufferPointer, source origin: String) throws(EngramError) {
        var reader = ByteReader(bytes, source: origin)
        let format = try reader.readUInt8("the lead format")
        guard format == LeadLayout.formatVersion else { throw reader.failure("lead format \(format), expected \(LeadLayout.formatVersion)") }
        score = try reader.readUInt8("the score")
        guard score <= LeadLayout.scoreMax else { throw reader.failure("score \(score) is over \(LeadLayout.scoreMax)") }
        let reserved = try reader.read(UInt16.self, "the reserved bytes")
        guard reserved == 0 else { throw reader.failure("reserved bytes are 0x\(String(reserved, radix: 16)), must be zero") }
        try reader.skip(16, "the id")
        version = try reader.read(UInt64.self, "the version")
        createdAt = try reader.read(Int64.self, "created_at")
        updatedAt = try reader.read(Int64.self, "updated_at")
        func text(_ what: String) throws(EngramError) -> UnsafeRawBufferPointer {
            try reader.readSlice(Int(try reader.read(UInt16.self, "the \(what) length")), "the \(what)")
        }
        email = try text("email")
        name = try text("name")
        company = try text("company")
        self.source = try text("source")
        category = try text("category")
        status = try text("status")
        metadata = try reader.readSlice(Int(try reader.read(UInt32.self, "the metadata length")), "the metadata")
        guard reader.isAtEnd else { throw reader.failure("\(reader.remaining) bytes after the lead's metadata") }
        self.bytes = bytes
    }

    /// The first field that breaks its rule (docs/RECORDS.md, "Lead"), described, or nil.
    func problem(_ limits: Limits) -> String? {
        let texts: [(String, UnsafeRawBufferPointer, Int, Int)] = [
            ("name", name, 0, limits.recordTextBytesMax), ("company", company, 0, limits.recordTextBytesMax),
            ("source", source, 0, limits.recordLabelBytesMax), ("category", category, 0, limits.recordLabelBytesMax),
            ("status", status, 1, limits.recordLabelBytesMax),
        ]
        if let problem = RecordText.emailProblem(email, bytesMax: limits.leadEmailBytesMax) { return "email \(problem.description)" }
        for (field, bytes, bytesMin, bytesMax) in texts {
            if let problem = RecordText.problem(bytes, bytesMin: bytesMin, bytesMax: bytesMax) { return "\(field) \(problem.description)" }
        }
        for (field, time) in [("created_at", createdAt), ("updated_at", updatedAt)] where time < 0 || time > limits.recordTimeMicrosecondsMax {
            return "\(field) \(time) is outside 0...\(limits.recordTimeMicrosecondsMax)"
        }
        if metadata.count > limits.leadMetadataBytesMax { return "metadata is \(metadata.count) bytes, over \(limits.leadMetadataBytesMax)" }
        if !metadata.isEmpty {
            do throws(JSONValidator.Failure) {
                try JSONValidator.validate(metadata, depthMax: limits.leadMetadataDepthMax)
            } catch {
                return "metadata is not valid JSON at byte \(error.offset): \(error.reason)"
            }
        }
        return nil
    }

    /// Copies the record out as a `Lead`; text that is not UTF-8 is `corrupt`, never repaired.
    func lead() throws(EngramError) -> Lead {
        func string(_ bytes: UnsafeRawBufferPointer, _ field: String) throws(EngramError) -> String {
            guard let text = RecordText.string(bytes) else {
                throw EngramError(.corrupt, "a stored lead's \(field) is not UTF-8")
            }
            return text
        }
        return Lead(id: uuid, email: try string(email, "email"), name: try string(name, "name"), company: try string(company, "company"),
                    source: try string(source, "source"), category: try string(category, "category"), score: Int(score),
                    status: try string(status, "status"), metadata: RecordText.bytes(metadata), createdAtMicroseconds: createdAt,
                    updatedAtMicroseconds: updatedAt, version: version)
    }
}
