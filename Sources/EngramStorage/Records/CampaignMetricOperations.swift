import FoundationEssentials

/// Logged change: `event` (sequence assigned) is stored and added to its campaign's summary and
/// its hour's bucket.
struct CampaignMetricAppendOperation: RedoOperation {
    static let opcode = RedoOpcode.campaignMetricAppend
    let namespace: Namespace
    let event: CampaignMetricEvent

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        MetricEventLayout.encode(event, into: &writer)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> CampaignMetricAppendOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let event = try MetricEventLayout.decode(try reader.readSlice(MetricEventLayout.bytes, "the metric event"), source: "a logged metric event")
        return CampaignMetricAppendOperation(namespace: namespace, event: event)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        context.observe(version: event.sequence)
        let tables = context.tables.records
        let transaction = context.transaction
        let namespace = namespace, event = event
        guard try CampaignReading.exists(namespace: namespace, id: event.campaignID, table: tables.campaigns, in: transaction) else {
            throw EngramError(.corrupt, "a logged metric event names campaign \(event.campaignID.uuidString), which does not exist")
        }
        try RecordKeys.with({ MetricKeys.appendEvent(&$0, namespace, event) }) { (key) throws(EngramError) in
            guard try transaction.get(tables.campaignEvents, key) == nil else {
                throw EngramError(.corrupt, "a logged metric event with sequence \(event.sequence) is stored already")
            }
            var writer = ByteWriter(capacity: MetricEventLayout.bytes)
            MetricEventLayout.encode(event, into: &writer)
            try writer.bytes.withBytes { (value) throws(EngramError) in try transaction.put(tables.campaignEvents, key, value) }
        }
        try RecordKeys.with({ MetricKeys.appendCampaign(&$0, namespace, event.campaignID) }) { (key) throws(EngramError) in
            try TotalsUpdate.add(event, table: tables.campaignSummaries, key: key, in: transaction)
        }
        let hourStart = MetricEventLayout.hourStart(event.timeMicroseconds)
        try RecordKeys.with({ MetricKeys.appendHour(&$0, namespace, event.campaignID, hourStart: hourStart) }) { (key) throws(EngramError) in
            try TotalsUpdate.add(event, table: tables.campaignHourly, key: key, in: transaction)
        }
    }
}

/// Logged change: the `count` oldest events of the campaign, all before `beforeMicroseconds`,
/// are deleted and subtracted from the summary and their buckets.
struct CampaignMetricsDeleteOperation: RedoOperation {
    static let opcode = RedoOpcode.campaignMetricsDelete
    let namespace: Namespace
    let campaignID: UUID
    let beforeMicroseconds: Int64
    let count: UInt32

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: campaignID.bytes)
        writer.write(beforeMicroseconds)
        writer.write(count)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> CampaignMetricsDeleteOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let campaignID = UUID(bytes: try reader.readSlice(16, "the campaign id"))
        let before = try reader.read(Int64.self, "the time bound")
        let count = try reader.read(UInt32.self, "the event count")
        return CampaignMetricsDeleteOperation(namespace: namespace, campaignID: campaignID, beforeMicroseconds: before, count: count)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let tables = context.tables.records
        let transaction = context.transaction
        let namespace = namespace, campaignID = campaignID, before = beforeMicroseconds, count = count
        try RecordKeys.with({ MetricKeys.appendCampaign(&$0, namespace, campaignID) }) { (prefix) throws(EngramError) in
            // Each seek starts just past the event deleted before it, not at the prefix, so it does
            // not step over the deletions the write buffers hold (`RecordRanges.deleteAll`).
            var from = Array(prefix)
            for index in 0..<Int(count) {
                let event = try transaction.withCursor(tables.campaignEvents) { (cursor) throws(EngramError) -> CampaignMetricEvent in
                    guard let entry = try from.withBytes({ (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }), entry.key.starts(with: prefix) else {
                        throw EngramError(.corrupt, "a logged metrics delete of \(count) events of campaign \(campaignID.uuidString) found only \(index)")
                    }
                    let event = try MetricEventLayout.decode(entry.value, source: tables.campaignEvents.name)
                    guard event.timeMicroseconds < before else {
                        throw EngramError(.corrupt, "a logged metrics delete before \(before) meets an event at \(event.timeMicroseconds) after \(index) of \(count)")
                    }
                    from = Array(entry.key) + [0]
                    try cursor.deleteCurrent()
                    return event
                }
                try TotalsUpdate.subtract(event, table: tables.campaignSummaries, key: prefix, in: transaction)
                try RecordKeys.with({ MetricKeys.appendHour(&$0, namespace, campaignID, hourStart: MetricEventLayout.hourStart(event.timeMicroseconds)) }) { (key) throws(EngramError) in
                    try TotalsUpdate.subtract(event, table: tables.campaignHourly, key: key, in: transaction)
                }
            }
        }
    }
}

/// Read-modify-write of one totals entry; an entry exists exactly while its event count is above 0.
enum TotalsUpdate {
    static func add(_ event: CampaignMetricEvent, table: LMDBDatabase, key: UnsafeRawBufferPointer, in transaction: StoreTransaction) throws(EngramError) {
        var totals = try transaction.get(table, key).map { (stored) throws(EngramError) in try TotalsLayout.decode(stored, source: table.name) } ?? CampaignTotals()
        guard totals.add(event) else { throw EngramError(.corrupt, "\(table.name) totals overflow, which the command checked against") }
        try write(totals, table: table, key: key, in: transaction)
    }

    static func subtract(_ event: CampaignMetricEvent, table: LMDBDatabase, key: UnsafeRawBufferPointer, in transaction: StoreTransaction) throws(EngramError) {
        guard let stored = try transaction.get(table, key) else {
            throw EngramError(.corrupt, "\(table.name) has no totals for an event being deleted")
        }
        var totals = try TotalsLayout.decode(stored, source: table.name)
        guard totals.subtract(event) else { throw EngramError(.corrupt, "\(table.name) totals are below the event being deleted") }
        if totals.eventCount == 0 {
            guard totals == CampaignTotals() else { throw EngramError(.corrupt, "\(table.name) totals keep counts after their last event is deleted") }
            _ = try transaction.delete(table, key)
        } else {
            try write(totals, table: table, key: key, in: transaction)
        }
    }

    private static func write(_ totals: CampaignTotals, table: LMDBDatabase, key: UnsafeRawBufferPointer, in transaction: StoreTransaction) throws(EngramError) {
        try transaction.put(table, key, reserving: TotalsLayout.bytes) { buffer in TotalsLayout.encode(totals, into: buffer) }
    }
}
