import EngramProtocol
import EngramStorage
import FoundationEssentials

/// What a row encoder learns while it encodes, for statements that follow the COPY.
struct EncodeNotes {
    /// Months (UTC starts, microseconds) of the leads encoded: an incremental export creates their
    /// partitions if they are new.
    var leadMonths: Set<Int64> = []
}

/// One exported table: its PostgreSQL name and columns, the snapshot streams that fill it and
/// find its deletes, and the encoder from a stream row to a COPY line.
struct ExportTable: Sendable {
    let name: String
    let columns: [String]
    /// The primary key's columns, for upserts.
    let keyColumns: [String]
    let rowStream: SnapshotStream
    /// Every live key, for deletes; its rows become one column of `keyType`.
    let keyStream: SnapshotStream
    let keyColumn: String
    let keyType: String
    let encodeRow: @Sendable (UnsafeRawBufferPointer, inout CopyLine, inout EncodeNotes) throws(EngramError) -> Void
    let encodeKey: @Sendable (UnsafeRawBufferPointer, inout CopyLine) throws(EngramError) -> Void

    static let leads = ExportTable(
        name: "leads",
        columns: ["id", "email", "name", "company", "source", "category", "score", "status", "metadata", "created_at", "updated_at"],
        keyColumns: ["id", "created_at"], rowStream: .leads, keyStream: .leadIDs, keyColumn: "id", keyType: "uuid",
        encodeRow: { (row, line, notes) throws(EngramError) in
            let lead = try Lead(recordBytes: row)
            line.uuid(lead.id)
            line.text(lead.email)
            line.text(lead.name, emptyIsNull: true)
            line.text(lead.company, emptyIsNull: true)
            line.text(lead.source, emptyIsNull: true)
            line.text(lead.category, emptyIsNull: true)
            line.integer(lead.score)
            line.text(lead.status)
            if lead.metadata.isEmpty { line.null() } else { line.textBytes(lead.metadata) }
            line.timestamp(lead.createdAtMicroseconds)
            line.timestamp(lead.updatedAtMicroseconds)
            line.endRow()
            notes.leadMonths.insert(UTCCalendar.monthStart(lead.createdAtMicroseconds))
        },
        encodeKey: uuidKey)

    static let campaigns = ExportTable(
        name: "campaigns",
        columns: ["id", "name", "type", "status", "budget", "created_at", "updated_at"],
        keyColumns: ["id"], rowStream: .campaigns, keyStream: .campaignIDs, keyColumn: "id", keyType: "uuid",
        encodeRow: { (row, line, _) throws(EngramError) in
            let campaign = try Campaign(recordBytes: row)
            line.uuid(campaign.id)
            line.text(campaign.name)
            line.text(campaign.type)
            line.text(campaign.status.description)
            line.cents(campaign.budgetCents)
            line.timestamp(campaign.createdAtMicroseconds)
            line.timestamp(campaign.updatedAtMicroseconds)
            line.endRow()
        },
        encodeKey: uuidKey)

    static let campaignMetrics = ExportTable(
        name: "campaign_metrics",
        columns: ["id", "campaign_id", "recorded_at", "sent", "opened", "clicked", "converted"],
        keyColumns: ["id"], rowStream: .campaignMetricEvents, keyStream: .campaignMetricSequences, keyColumn: "id", keyType: "bigint",
        encodeRow: { (row, line, _) throws(EngramError) in
            let event = try CampaignMetricEvent(recordBytes: row)
            line.integer(event.sequence)
            line.uuid(event.campaignID)
            line.timestamp(event.timeMicroseconds)
            line.integer(event.sent)
            line.integer(event.opened)
            line.integer(event.clicked)
            line.integer(event.converted)
            line.endRow()
        },
        encodeKey: { (row, line) throws(EngramError) in
            guard row.count == 8 else { throw EngramError(.corrupt, "a metric sequence row of \(row.count) bytes, expected 8") }
            line.integer(UInt64(littleEndian: row.loadUnaligned(as: UInt64.self)))
            line.endRow()
        })

    static let longTermMemory = ExportTable(
        name: "long_term_memory",
        columns: ["key", "version", "value"],
        keyColumns: ["key"], rowStream: .longTerm, keyStream: .longTermKeys, keyColumn: "key", keyType: "bytea",
        encodeRow: { (row, line, _) throws(EngramError) in
            let entry = try LongTermRow(rowBytes: row)
            line.bytea(entry.key)
            line.integer(entry.version)
            line.bytea(entry.value)
            line.endRow()
        },
        encodeKey: { (row, line) throws(EngramError) in
            line.bytea(Array(row))
            line.endRow()
        })

    static let semanticMemory = ExportTable(
        name: "semantic_memory",
        columns: ["id", "version", "tags", "embedding", "body"],
        keyColumns: ["id"], rowStream: .semantic, keyStream: .semanticIDs, keyColumn: "id", keyType: "uuid",
        encodeRow: { (row, line, _) throws(EngramError) in
            let stored = try StoredFact(rowBytes: row)
            line.uuid(stored.fact.id)
            line.integer(stored.version)
            line.textArray(stored.fact.tags)
            line.realArray(stored.fact.vector)
            line.bytea(stored.fact.body)
            line.endRow()
        },
        encodeKey: uuidKey)

    /// Episodes find their deletes by ranges of positions, not by keys (`episodicRanges`).
    static let episodicEvents = ExportTable(
        name: "episodic_events",
        columns: ["position", "agent", "sequence", "occurred_at", "kind", "lead_id", "campaign_id", "body"],
        keyColumns: ["position"], rowStream: .episodes, keyStream: .episodicRanges, keyColumn: "position", keyType: "bigint",
        encodeRow: { (row, line, _) throws(EngramError) in
            let episode = try Episode(recordBytes: row)
            line.integer(episode.position)
            line.text(episode.agent)
            line.integer(episode.sequence)
            line.timestamp(episode.timestampMicroseconds)
            line.integer(episode.kind)
            line.optionalUUID(episode.lead)
            line.optionalUUID(episode.campaign)
            line.bytea(episode.body)
            line.endRow()
        },
        encodeKey: { (row, line) throws(EngramError) in
            guard row.count == 16 else { throw EngramError(.corrupt, "an episodic range row of \(row.count) bytes, expected 16") }
            line.integer(UInt64(littleEndian: row.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
            line.integer(UInt64(littleEndian: row.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            line.endRow()
        })

    static let all: [ExportTable] = [leads, campaigns, campaignMetrics, longTermMemory, semanticMemory, episodicEvents]

    private static let uuidKey: @Sendable (UnsafeRawBufferPointer, inout CopyLine) throws(EngramError) -> Void = { (row, line) throws(EngramError) in
        guard row.count == 16 else { throw EngramError(.corrupt, "an id row of \(row.count) bytes, expected 16") }
        line.uuid(UUID(uuid: (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11], row[12], row[13], row[14], row[15])))
        line.endRow()
    }
}
