import FoundationEssentials

/// Inserts or replaces the lead with `id`; the outcome is the lead as stored.
///
/// `created_at` comes from the first upsert of the id and is kept after: `createdAtMicroseconds`
/// when given (an import keeping the original time), otherwise the batch time. `updated_at` is
/// always the batch time. Fails with `alreadyExists` when another lead of the namespace has the
/// same case-folded email, before anything is applied.
public struct LeadUpsert: WriteCommand {
    public let namespace: Namespace
    public let id: UUID
    public let email: String
    public let name: String
    public let company: String
    public let source: String
    public let category: String
    public let score: Int
    public let status: String
    public let metadata: [UInt8]
    public let createdAtMicroseconds: Int64?

    public init(namespace: Namespace, id: UUID, email: String, name: String = "", company: String = "", source: String = "", category: String = "", score: Int, status: String, metadata: [UInt8] = [], createdAtMicroseconds: Int64? = nil) {
        self.namespace = namespace
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
    }

    /// Upserts `lead`'s fields; its `createdAtMicroseconds` is used if the lead is new. Its
    /// version and `updatedAtMicroseconds` are ignored (the store assigns them).
    public init(namespace: Namespace, lead: Lead) {
        self.init(namespace: namespace, id: lead.id, email: lead.email, name: lead.name, company: lead.company, source: lead.source,
                  category: lead.category, score: lead.score, status: lead.status, metadata: lead.metadata,
                  createdAtMicroseconds: lead.createdAtMicroseconds)
    }

    /// Decodes the upsert request form of docs/RECORDS.md: a lead record with version and
    /// updated_at zero and created_at a time or -1. Field rules are checked by `validate`.
    public init(namespace: Namespace, request: [UInt8]) throws(EngramError) {
        let decoded = try request.withBytes { (bytes) throws(EngramError) -> (Lead, Int64) in
            let view: LeadView
            do throws(EngramError) {
                view = try LeadView(bytes, source: "a lead upsert request")
            } catch {
                throw EngramError(.invalidArgument, error.message + (error.offset.map { " (at byte \($0))" } ?? ""))
            }
            guard view.version == 0, view.updatedAt == 0 else {
                throw EngramError(.invalidArgument, "a lead upsert request must carry version 0 and updated_at 0 (the store assigns them)")
            }
            guard let lead = try? view.lead() else { throw EngramError(.invalidArgument, "a lead upsert request holds text that is not UTF-8") }
            return (lead, view.createdAt)
        }
        let (lead, createdAt) = decoded
        self.init(namespace: namespace, id: lead.id, email: lead.email, name: lead.name, company: lead.company, source: lead.source,
                  category: lead.category, score: lead.score, status: lead.status, metadata: lead.metadata,
                  createdAtMicroseconds: createdAt == LeadLayout.createdAtUnset ? nil : createdAt)
    }

    var texts: [String] { [email, name, company, source, category, status] }

    public var payloadByteCount: Int { namespace.bytes.count + LeadLayout.encodedByteCount(texts: texts, metadata: metadata) + 16 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard (0...Int(LeadLayout.scoreMax)).contains(score) else {
            throw EngramError(.invalidArgument, "score \(score) is outside 0...\(LeadLayout.scoreMax)")
        }
        try RecordText.checkEmail(email, bytesMax: limits.leadEmailBytesMax)
        try RecordText.check(name, field: "name", bytesMin: 0, bytesMax: limits.recordTextBytesMax)
        try RecordText.check(company, field: "company", bytesMin: 0, bytesMax: limits.recordTextBytesMax)
        try RecordText.check(source, field: "source", bytesMin: 0, bytesMax: limits.recordLabelBytesMax)
        try RecordText.check(category, field: "category", bytesMin: 0, bytesMax: limits.recordLabelBytesMax)
        try RecordText.check(status, field: "status", bytesMin: 1, bytesMax: limits.recordLabelBytesMax)
        if let createdAtMicroseconds {
            try RecordTime.check(createdAtMicroseconds, field: "created_at", limits: limits)
        }
        guard metadata.count <= limits.leadMetadataBytesMax else {
            throw EngramError(.valueTooLarge, "metadata of \(metadata.count) bytes exceeds leadMetadataBytesMax \(limits.leadMetadataBytesMax)")
        }
        if !metadata.isEmpty {
            try JSONValidator.check(metadata, field: "metadata", depthMax: limits.leadMetadataDepthMax)
        }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> Lead {
        let tables = context.tables.records
        let namespace = namespace, id = id
        // The stored lead's keys are copied here, before any write; the put uses them rather
        // than reading the lead again.
        let existing = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) -> (createdAt: Int64, keys: LeadIndexKeys)? in
            guard let stored = try context.get(tables.leads, key) else { return nil }
            let view = try LeadView(stored, source: tables.leads.name)
            return (view.createdAt, LeadIndexKeys(namespace: namespace, view))
        }
        if let owner = try LeadReading.emailOwner(namespace: namespace, email: email, table: tables.leadEmails, in: context.transaction), owner != id {
            throw EngramError(.alreadyExists, "email \"\(email)\" already belongs to lead \(owner.uuidString) in namespace \(namespace.name)")
        }
        let version = context.nextVersion()
        let createdAt = existing?.createdAt ?? createdAtMicroseconds ?? context.batchTimeMicroseconds
        let updatedAt = context.batchTimeMicroseconds
        let record = LeadLayout.encode(id: id, score: UInt8(score), version: version, createdAt: createdAt, updatedAt: updatedAt, texts: texts, metadata: metadata)
        try context.apply(LeadPutOperation(namespace: namespace, record: record, checked: LeadPutOperation.Checked(old: existing?.keys)))
        return Lead(id: id, email: email, name: name, company: company, source: source, category: category, score: score, status: status,
                    metadata: metadata, createdAtMicroseconds: createdAt, updatedAtMicroseconds: updatedAt, version: version)
    }
}

/// Deletes the lead with `id` and its index entries; the outcome says whether it existed.
public struct LeadDelete: WriteCommand {
    public let namespace: Namespace
    public let id: UUID

    public init(namespace: Namespace, id: UUID) {
        self.namespace = namespace
        self.id = id
    }

    public var payloadByteCount: Int { namespace.bytes.count + 16 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> Bool {
        let table = context.tables.records.leads
        let namespace = namespace, id = id
        let exists = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) in
            try context.get(table, key) != nil
        }
        guard exists else { return false }
        try context.apply(LeadDeleteOperation(namespace: namespace, id: id))
        return true
    }
}

/// The time rule shared by every record (docs/RECORDS.md): microseconds in
/// `0...Limits.recordTimeMicrosecondsMax`.
enum RecordTime {
    static func check(_ time: Int64, field: String, limits: Limits) throws(EngramError) {
        guard time >= 0 && time <= limits.recordTimeMicrosecondsMax else {
            throw EngramError(.invalidArgument, "\(field) \(time) is outside 0...\(limits.recordTimeMicrosecondsMax) microseconds since 1970")
        }
    }
}
