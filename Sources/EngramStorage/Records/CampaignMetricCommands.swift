import FoundationEssentials

/// Appends metric events; each updates its campaign's summary and hourly bucket in the same
/// transaction. The outcome is the sequence given to each event, in order. Fails before anything
/// is applied if a campaign does not exist (`notFound`) or a total would overflow (`valueTooLarge`).
public struct CampaignMetricAppend: WriteCommand {
    public let namespace: Namespace
    public let events: [CampaignMetricEvent]

    public init(namespace: Namespace, events: [CampaignMetricEvent]) {
        self.namespace = namespace
        self.events = events
    }

    public init(namespace: Namespace, event: CampaignMetricEvent) {
        self.init(namespace: namespace, events: [event])
    }

    public var payloadByteCount: Int { events.count * RedoFraming.operationBytes(namespaceBytes: namespace.bytes.count, bodyBytes: MetricEventLayout.bytes) }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard !events.isEmpty else { throw EngramError(.invalidArgument, "a metric append needs at least one event") }
        guard events.count <= limits.campaignMetricAppendCountMax else {
            throw EngramError(.valueTooLarge, "\(events.count) events exceed campaignMetricAppendCountMax \(limits.campaignMetricAppendCountMax)")
        }
        guard payloadByteCount <= limits.batchBytesMax else {
            throw EngramError(.valueTooLarge, "\(events.count) events take \(payloadByteCount) bytes, over batchBytesMax \(limits.batchBytesMax)")
        }
        for (index, event) in events.enumerated() {
            try RecordTime.check(event.timeMicroseconds, field: "event \(index) time", limits: limits)
            guard event.sequence == 0 else { throw EngramError(.invalidArgument, "event \(index) has sequence \(event.sequence); the store assigns it, send 0") }
        }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> [UInt64] {
        let tables = context.tables.records
        // Every check before the first apply: the totals each campaign would reach.
        var reached: [UUID: CampaignTotals] = [:]
        for event in events {
            var totals: CampaignTotals
            if let pending = reached[event.campaignID] {
                totals = pending
            } else {
                guard try CampaignReading.exists(namespace: namespace, id: event.campaignID, table: tables.campaigns, in: context.transaction) else {
                    throw EngramError(.notFound, "campaign \(event.campaignID.uuidString) does not exist in namespace \(namespace.name)")
                }
                totals = try CampaignReading.summary(namespace: namespace, campaignID: event.campaignID, table: tables.campaignSummaries, in: context.transaction)
            }
            guard totals.add(event) else {
                throw EngramError(.valueTooLarge, "campaign \(event.campaignID.uuidString)'s totals would pass 2^64 - 1")
            }
            reached[event.campaignID] = totals
        }
        var sequences: [UInt64] = []
        sequences.reserveCapacity(events.count)
        for var event in events {
            event.sequence = context.nextVersion()
            try context.apply(CampaignMetricAppendOperation(namespace: namespace, event: event))
            sequences.append(event.sequence)
        }
        return sequences
    }
}

/// Deletes a campaign's oldest metric events with a time before `beforeMicroseconds`, at most
/// `countMax` (itself at most `campaignMetricDeleteCountMax`), subtracting them from the summary
/// and buckets. The outcome is how many were deleted; 0 means none is left before that time.
public struct CampaignMetricsDelete: WriteCommand {
    public let namespace: Namespace
    public let campaignID: UUID
    public let beforeMicroseconds: Int64
    public let countMax: Int

    public init(namespace: Namespace, campaignID: UUID, beforeMicroseconds: Int64 = .max, countMax: Int) {
        self.namespace = namespace
        self.campaignID = campaignID
        self.beforeMicroseconds = beforeMicroseconds
        self.countMax = countMax
    }

    public var payloadByteCount: Int { namespace.bytes.count + 32 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard countMax > 0 && countMax <= limits.campaignMetricDeleteCountMax else {
            throw EngramError(.invalidArgument, "countMax \(countMax) is outside 1...\(limits.campaignMetricDeleteCountMax) (campaignMetricDeleteCountMax)")
        }
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> Int {
        let table = context.tables.records.campaignEvents
        let transaction = context.transaction
        let namespace = namespace, campaignID = campaignID, before = beforeMicroseconds, countMax = countMax
        let count = try RecordKeys.with({ MetricKeys.appendCampaign(&$0, namespace, campaignID) }) { (prefix) throws(EngramError) -> Int in
            try transaction.withCursor(table) { (cursor) throws(EngramError) -> Int in
                var count = 0
                var entry = try cursor.seek(atOrAfter: prefix)
                while count < countMax, let current = entry, current.key.starts(with: prefix),
                      Int64(bitPattern: current.key.bigEndianUInt64(at: prefix.count)) < before {
                    count += 1
                    entry = try cursor.next()
                }
                return count
            }
        }
        guard count > 0 else { return 0 }
        try context.apply(CampaignMetricsDeleteOperation(namespace: namespace, campaignID: campaignID, beforeMicroseconds: before, count: UInt32(count)))
        return count
    }
}
