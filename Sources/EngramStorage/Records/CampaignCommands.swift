import FoundationEssentials

/// Inserts or replaces the campaign with `id`; the outcome is the campaign as stored.
/// `created_at` follows the lead rule: set by the first upsert (the given time or the batch time)
/// and kept after; `updated_at` is the batch time.
public struct CampaignUpsert: WriteCommand {
    public let namespace: Namespace
    public let id: UUID
    public let name: String
    public let type: String
    public let status: CampaignStatus
    public let budgetCents: Int64
    public let createdAtMicroseconds: Int64?

    public init(namespace: Namespace, id: UUID, name: String, type: String, status: CampaignStatus, budgetCents: Int64, createdAtMicroseconds: Int64? = nil) {
        self.namespace = namespace
        self.id = id
        self.name = name
        self.type = type
        self.status = status
        self.budgetCents = budgetCents
        self.createdAtMicroseconds = createdAtMicroseconds
    }

    public var payloadByteCount: Int { namespace.bytes.count + CampaignLayout.encodedByteCount(name: name, type: type) + 16 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        try RecordText.check(name, field: "name", bytesMin: 1, bytesMax: limits.recordTextBytesMax)
        try RecordText.check(type, field: "type", bytesMin: 1, bytesMax: limits.recordLabelBytesMax)
        guard budgetCents >= 0 && budgetCents <= limits.campaignBudgetCentsMax else {
            throw EngramError(.invalidArgument, "budget_cents \(budgetCents) is outside 0...\(limits.campaignBudgetCentsMax)")
        }
        if let createdAtMicroseconds { try RecordTime.check(createdAtMicroseconds, field: "created_at", limits: limits) }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> Campaign {
        let table = context.tables.records.campaigns
        let namespace = namespace, id = id
        let existingCreatedAt = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) -> Int64? in
            guard let stored = try context.get(table, key) else { return nil }
            return try CampaignView(stored, source: table.name).createdAt
        }
        let version = context.nextVersion()
        let createdAt = existingCreatedAt ?? createdAtMicroseconds ?? context.batchTimeMicroseconds
        let campaign = Campaign(id: id, name: name, type: type, status: status, budgetCents: budgetCents, createdAtMicroseconds: createdAt,
                                updatedAtMicroseconds: context.batchTimeMicroseconds, version: version)
        try context.apply(CampaignPutOperation(namespace: namespace, record: campaign.record))
        return campaign
    }
}

/// Deletes a campaign with its status entry, summary, hourly buckets and metric events; the
/// outcome says whether it existed. A campaign with more than `campaignDeleteEventCountMax` events
/// is refused (`valueTooLarge`): trim it first with `CampaignMetricsDelete`.
public struct CampaignDelete: WriteCommand {
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
        let tables = context.tables.records
        let namespace = namespace, id = id
        let exists = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) in
            try context.get(tables.campaigns, key) != nil
        }
        guard exists else { return false }
        let totals = try CampaignReading.summary(namespace: namespace, campaignID: id, table: tables.campaignSummaries, in: context.transaction)
        guard totals.eventCount <= UInt64(context.limits.campaignDeleteEventCountMax) else {
            throw EngramError(.valueTooLarge, "campaign \(id.uuidString) has \(totals.eventCount) metric events, over campaignDeleteEventCountMax \(context.limits.campaignDeleteEventCountMax); delete its events first with CampaignMetricsDelete")
        }
        try context.apply(CampaignDeleteOperation(namespace: namespace, id: id))
        return true
    }
}

/// Campaign lookups shared by commands and reads.
enum CampaignReading {
    /// The campaign's summary; zeros when it has no events.
    static func summary(namespace: Namespace, campaignID: UUID, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> CampaignTotals {
        try RecordKeys.with({ MetricKeys.appendCampaign(&$0, namespace, campaignID) }) { (key) throws(EngramError) in
            guard let stored = try transaction.get(table, key) else { return CampaignTotals() }
            return try TotalsLayout.decode(stored, source: table.name)
        }
    }

    static func exists(namespace: Namespace, id: UUID, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> Bool {
        try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) in
            try transaction.get(table, key) != nil
        }
    }

    /// `ns status type 0x00 id`, copied out.
    static func statusKey(namespace: Namespace, _ campaign: CampaignView) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: RecordKeys.bufferBytes, alignment: 1) { buffer in
            var writer = KeyWriter(buffer)
            writer.append(namespace: namespace)
            writer.append(campaign.status.rawValue)
            writer.append(terminatedText: campaign.type)
            writer.append(campaign.id)
            return Array(writer.bytes)
        }
    }
}
