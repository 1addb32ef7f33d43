import FoundationEssentials

/// The last campaign of a page, in `campaign_statuses` order (status, type, id); the next page
/// starts after it.
public struct CampaignCursor: Sendable, Hashable {
    public let status: CampaignStatus
    public let type: String
    public let id: UUID

    public init(status: CampaignStatus, type: String, id: UUID) {
        self.status = status
        self.type = type
        self.id = id
    }
}

public struct CampaignPage: Sendable, Equatable {
    public let campaigns: [Campaign]
    /// Set when more campaigns follow.
    public let next: CampaignCursor?
}

/// A campaign with its live performance summary.
public struct CampaignPerformance: Sendable, Equatable {
    public let campaign: Campaign
    public let totals: CampaignTotals
}

public struct CampaignPerformancePage: Sendable, Equatable {
    public let performances: [CampaignPerformance]
    public let next: CampaignCursor?
}

/// The totals of the events in one UTC hour `[hourStart, hourStart + 1 h)`.
public struct CampaignHourlyBucket: Sendable, Equatable {
    public let hourStartMicroseconds: Int64
    public let totals: CampaignTotals
}

public struct CampaignHourlyPage: Sendable, Equatable {
    public let buckets: [CampaignHourlyBucket]
    /// Set when more buckets follow: pass it as the next `fromMicroseconds`.
    public let resumeFromMicroseconds: Int64?
}

public struct CampaignMetricEventPage: Sendable, Equatable {
    public let events: [CampaignMetricEvent]
    /// Set when more events follow: the last event's time and sequence, to pass as `after`.
    public let next: CampaignMetricEventPosition?
}

/// A place in a campaign's events, which are ordered by time then sequence.
public struct CampaignMetricEventPosition: Sendable, Hashable {
    public let timeMicroseconds: Int64
    public let sequence: UInt64

    public init(timeMicroseconds: Int64, sequence: UInt64) {
        self.timeMicroseconds = timeMicroseconds
        self.sequence = sequence
    }
}

extension EngramStore {
    /// The campaign with `id`, or nil.
    public func campaignGet(namespace: Namespace, id: UUID) throws(EngramError) -> Campaign? {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let table = tables.records.campaigns
        return try read { (transaction) throws(EngramError) -> Campaign? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            return try Self.campaign(namespace: namespace, id: id, table: table, in: transaction)
        }
    }

    /// Campaigns of one status and/or type (either may be nil), in (status, type, id) order,
    /// after `after` when given, at most `limit` (capped by `Limits.recordPageCountMax`).
    public func campaignQuery(namespace: Namespace, status: CampaignStatus? = nil, type: String? = nil, after: CampaignCursor? = nil, limit: Int) throws(EngramError) -> CampaignPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let walk = try CampaignWalk(namespace: namespace, status: status, type: type, after: after, limit: limit, limits: limits)
        let tables = tables.records
        return try read { (transaction) throws(EngramError) -> CampaignPage in
            if try namespaceIsErasing(namespace, in: transaction) { return CampaignPage(campaigns: [], next: nil) }
            var campaigns: [Campaign] = []
            let next = try walk.run(tables: tables, in: transaction) { (view) throws(EngramError) in campaigns.append(try view.campaign()) }
            return CampaignPage(campaigns: campaigns, next: next)
        }
    }

    /// A campaign with its summary (zeros when it has no events), or nil when it does not exist.
    public func campaignPerformance(namespace: Namespace, id: UUID) throws(EngramError) -> CampaignPerformance? {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let tables = tables.records
        return try read { (transaction) throws(EngramError) -> CampaignPerformance? in
            if try namespaceIsErasing(namespace, in: transaction) { return nil }
            guard let campaign = try Self.campaign(namespace: namespace, id: id, table: tables.campaigns, in: transaction) else { return nil }
            let totals = try CampaignReading.summary(namespace: namespace, campaignID: id, table: tables.campaignSummaries, in: transaction)
            return CampaignPerformance(campaign: campaign, totals: totals)
        }
    }

    /// Every active campaign with its summary, in (type, id) order, a page at a time; one snapshot.
    public func activeCampaignPerformance(namespace: Namespace, after: CampaignCursor? = nil, limit: Int) throws(EngramError) -> CampaignPerformancePage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let walk = try CampaignWalk(namespace: namespace, status: .active, type: nil, after: after, limit: limit, limits: limits)
        let tables = tables.records
        return try read { (transaction) throws(EngramError) -> CampaignPerformancePage in
            if try namespaceIsErasing(namespace, in: transaction) { return CampaignPerformancePage(performances: [], next: nil) }
            var performances: [CampaignPerformance] = []
            let next = try walk.run(tables: tables, in: transaction) { (view) throws(EngramError) in
                let totals = try CampaignReading.summary(namespace: namespace, campaignID: view.uuid, table: tables.campaignSummaries, in: transaction)
                performances.append(CampaignPerformance(campaign: try view.campaign(), totals: totals))
            }
            return CampaignPerformancePage(performances: performances, next: next)
        }
    }

    /// The hourly buckets of a campaign from the hour holding `fromMicroseconds` to the last hour
    /// starting before `toMicroseconds`, ascending; only hours with events.
    public func campaignHourlySeries(namespace: Namespace, campaignID: UUID, fromMicroseconds: Int64, toMicroseconds: Int64 = .max, limit: Int) throws(EngramError) -> CampaignHourlyPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a limit must be positive, got \(limit)") }
        let countMax = min(limit, limits.recordPageCountMax)
        let table = tables.records.campaignHourly
        let from = MetricEventLayout.hourStart(max(0, fromMicroseconds))
        return try read { (transaction) throws(EngramError) -> CampaignHourlyPage in
            if try namespaceIsErasing(namespace, in: transaction) { return CampaignHourlyPage(buckets: [], resumeFromMicroseconds: nil) }
            return try RecordKeys.with({ MetricKeys.appendHour(&$0, namespace, campaignID, hourStart: from) }) { (start) throws(EngramError) -> CampaignHourlyPage in
                let prefix = start.slice(0..<(start.count - 8))
                return try transaction.withCursor(table) { (cursor) throws(EngramError) -> CampaignHourlyPage in
                    var buckets: [CampaignHourlyBucket] = []
                    var entry = try cursor.seek(atOrAfter: start)
                    while let current = entry, current.key.starts(with: prefix), current.key.count == prefix.count + 8 {
                        let hour = Int64(bitPattern: current.key.bigEndianUInt64(at: prefix.count))
                        guard hour < toMicroseconds else { break }
                        if buckets.count == countMax { return CampaignHourlyPage(buckets: buckets, resumeFromMicroseconds: hour) }
                        buckets.append(CampaignHourlyBucket(hourStartMicroseconds: hour, totals: try TotalsLayout.decode(current.value, source: table.name)))
                        entry = try cursor.next()
                    }
                    return CampaignHourlyPage(buckets: buckets, resumeFromMicroseconds: nil)
                }
            }
        }
    }

    /// A campaign's metric events in (time, sequence) order, after `after` when given.
    public func campaignMetricEvents(namespace: Namespace, campaignID: UUID, after: CampaignMetricEventPosition? = nil, limit: Int) throws(EngramError) -> CampaignMetricEventPage {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        guard limit > 0 else { throw EngramError(.invalidArgument, "a limit must be positive, got \(limit)") }
        let countMax = min(limit, limits.recordPageCountMax)
        let table = tables.records.campaignEvents
        return try read { (transaction) throws(EngramError) -> CampaignMetricEventPage in
            if try namespaceIsErasing(namespace, in: transaction) { return CampaignMetricEventPage(events: [], next: nil) }
            return try RecordKeys.with({ writer in
                MetricKeys.appendCampaign(&writer, namespace, campaignID)
                if let after {
                    writer.appendBigEndian(UInt64(bitPattern: after.timeMicroseconds))
                    writer.appendBigEndian(after.sequence)
                }
            }) { (start) throws(EngramError) -> CampaignMetricEventPage in
                let prefixBytes = NamespacedKey.prefixBytes(namespace) + 16
                let prefix = start.slice(0..<prefixBytes)
                return try transaction.withCursor(table) { (cursor) throws(EngramError) -> CampaignMetricEventPage in
                    var events: [CampaignMetricEvent] = []
                    var entry = try cursor.seek(atOrAfter: start)
                    if after != nil, let current = entry, current.key.elementsEqual(start) { entry = try cursor.next() }
                    while let current = entry, current.key.starts(with: prefix) {
                        if events.count == countMax, let last = events.last {
                            return CampaignMetricEventPage(events: events, next: CampaignMetricEventPosition(timeMicroseconds: last.timeMicroseconds, sequence: last.sequence))
                        }
                        events.append(try MetricEventLayout.decode(current.value, source: table.name))
                        entry = try cursor.next()
                    }
                    return CampaignMetricEventPage(events: events, next: nil)
                }
            }
        }
    }

    static func campaign(namespace: Namespace, id: UUID, table: LMDBDatabase, in transaction: StoreTransaction) throws(EngramError) -> Campaign? {
        try RecordKeys.with({ $0.append(namespace: namespace); $0.append(uuid: id) }) { (key) throws(EngramError) -> Campaign? in
            guard let stored = try transaction.get(table, key) else { return nil }
            let campaign = try CampaignView(stored, source: table.name).campaign()
            guard campaign.id == id else { throw EngramError(.corrupt, "\(table.name) key \(id.uuidString) holds campaign \(campaign.id.uuidString)") }
            return campaign
        }
    }
}

/// One page of a campaign query over `campaign_statuses` (docs/RECORDS.md, "Campaign query").
struct CampaignWalk {
    let namespace: Namespace
    /// The key ranges to visit, in order.
    let prefixes: [[UInt8]]
    /// The cursor's full key: the walk resumes strictly after it.
    let afterKey: [UInt8]?
    let countMax: Int

    init(namespace: Namespace, status: CampaignStatus?, type: String?, after: CampaignCursor?, limit: Int, limits: Limits) throws(EngramError) {
        guard limit > 0 else { throw EngramError(.invalidArgument, "a limit must be positive, got \(limit)") }
        if let type { try RecordText.check(type, field: "type", bytesMin: 1, bytesMax: limits.recordLabelBytesMax) }
        if let after { try RecordText.check(after.type, field: "cursor type", bytesMin: 1, bytesMax: limits.recordLabelBytesMax) }
        let base = [UInt8(namespace.bytes.count)] + namespace.bytes
        let typeSuffix: [UInt8] = type.map { Array($0.utf8) + [0] } ?? []
        if let status {
            prefixes = [base + [status.rawValue] + typeSuffix]
        } else if type != nil {
            prefixes = CampaignStatus.allCases.map { base + [$0.rawValue] + typeSuffix }
        } else {
            prefixes = [base]
        }
        afterKey = after.map { base + [$0.status.rawValue] + Array($0.type.utf8) + [0] + $0.id.bytes }
        self.namespace = namespace
        countMax = min(limit, limits.recordPageCountMax)
    }

    /// Hands each campaign of the page to `visit`; returns the cursor when more follow.
    func run(tables: RecordTables, in transaction: StoreTransaction, _ visit: (CampaignView) throws(EngramError) -> Void) throws(EngramError) -> CampaignCursor? {
        var count = 0
        var last: CampaignCursor?
        for prefix in prefixes {
            let start = afterKey.map { $0.lexicographicallyPrecedes(prefix) ? prefix : $0 } ?? prefix
            let finished = try transaction.withCursor(tables.campaignStatuses) { (cursor) throws(EngramError) -> Bool in
                var entry = try start.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
                if let afterKey, let current = entry, current.key.elementsEqual(afterKey) { entry = try cursor.next() }
                while let current = entry, current.key.starts(with: prefix) {
                    if count == countMax { return true }
                    let id = current.key.slice((current.key.count - 16)..<current.key.count)
                    let found = try RecordKeys.with({ $0.append(namespace: namespace); $0.append(id) }) { (key) throws(EngramError) -> CampaignCursor in
                        guard let stored = try transaction.get(tables.campaigns, key) else {
                            throw EngramError(.corrupt, "\(tables.campaignStatuses.name) names campaign \(UUID(bytes: id).uuidString), which does not exist")
                        }
                        let view = try CampaignView(stored, source: tables.campaigns.name)
                        try visit(view)
                        return CampaignCursor(status: view.status, type: String(decoding: view.type, as: UTF8.self), id: view.uuid)
                    }
                    last = found
                    count += 1
                    entry = try cursor.next()
                }
                return false
            }
            if finished { return last }
        }
        return nil
    }
}
