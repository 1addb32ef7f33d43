import FoundationEssentials

/// Logged change: the campaign in `record` replaces any campaign with its id; its status entry
/// follows.
struct CampaignPutOperation: RedoOperation {
    static let opcode = RedoOpcode.campaignPut
    let namespace: Namespace
    let record: [UInt8]

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(UInt32(record.count))
        writer.write(contentsOf: record)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> CampaignPutOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let record = try reader.readBytes(Int(try reader.read(UInt32.self, "the campaign length")), "the campaign")
        return CampaignPutOperation(namespace: namespace, record: record)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.records
        let transaction = context.transaction
        let namespace = namespace
        try record.withBytes { (bytes) throws(EngramError) in
            let campaign = try CampaignView(bytes, source: "a logged campaign")
            context.observe(version: campaign.version)
            let new = CampaignReading.statusKey(namespace: namespace, campaign)
            try RecordKeys.with({ $0.append(namespace: namespace); $0.append(campaign.id) }) { (key) throws(EngramError) in
                let old = try transaction.get(tables.campaigns, key).map { (stored) throws(EngramError) in
                    CampaignReading.statusKey(namespace: namespace, try CampaignView(stored, source: tables.campaigns.name))
                }
                if let old, old != new { try RecordIndex.delete(tables.campaignStatuses, old, in: transaction) }
                try transaction.put(tables.campaigns, key, bytes)
                if old != new { try RecordIndex.put(tables.campaignStatuses, new, in: transaction) }
            }
        }
    }
}

/// Logged change: campaign `id` no longer exists, nor its status entry, summary, hourly buckets
/// and events. The command bounded how many there are (`campaignDeleteEventCountMax`).
struct CampaignDeleteOperation: RedoOperation {
    static let opcode = RedoOpcode.campaignDelete
    let namespace: Namespace
    let id: UUID

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: id.bytes)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> CampaignDeleteOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        return CampaignDeleteOperation(namespace: namespace, id: UUID(bytes: try reader.readSlice(16, "the campaign id")))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.records
        let transaction = context.transaction
        let namespace = namespace, id = id
        try RecordKeys.with({ MetricKeys.appendCampaign(&$0, namespace, id) }) { (key) throws(EngramError) in
            guard let stored = try transaction.get(tables.campaigns, key) else {
                throw EngramError(.corrupt, "a logged campaign delete names campaign \(id.uuidString), which does not exist")
            }
            let statusKey = CampaignReading.statusKey(namespace: namespace, try CampaignView(stored, source: tables.campaigns.name))
            try RecordIndex.delete(tables.campaignStatuses, statusKey, in: transaction)
            _ = try transaction.delete(tables.campaigns, key)
            _ = try transaction.delete(tables.campaignSummaries, key)
            // The campaign's key is also the prefix of its buckets and events.
            try RecordRanges.deleteAll(tables.campaignHourly, prefix: key, in: transaction)
            try RecordRanges.deleteAll(tables.campaignEvents, prefix: key, in: transaction)
        }
    }
}

/// Key ranges: what a campaign delete (and later a namespace erase) removes.
enum RecordRanges {
    /// Deletes every entry whose key starts with `prefix`; returns how many.
    @discardableResult
    static func deleteAll(_ table: LMDBDatabase, prefix: UnsafeRawBufferPointer, in transaction: StoreTransaction) throws(EngramError) -> Int {
        try transaction.withCursor(table) { (cursor) throws(EngramError) -> Int in
            var deleted = 0
            // On from the deleted key, not from the prefix again: a seek from the prefix would step
            // over every deletion before it, which the write buffers hold until their checkpoint.
            var entry = try cursor.seek(atOrAfter: prefix)
            while let current = entry, current.key.starts(with: prefix) {
                try cursor.deleteCurrent()
                deleted += 1
                entry = try cursor.next()
            }
            return deleted
        }
    }
}
