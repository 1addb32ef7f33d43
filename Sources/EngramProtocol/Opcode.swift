/// What a request asks for. A struct over the wire value rather than an enum, so an opcode this
/// build does not know can still be carried, logged and answered with `unknownOpcode`.
///
/// Ranges per tier are in docs/PROTOCOL.md, "Opcodes"; new tiers add opcodes in their range.
public struct Opcode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Server frames that answer no request (the connection-limit `busy`).
    public static let none = Opcode(rawValue: 0x0000)
    public static let hello = Opcode(rawValue: 0x0001)
    public static let ping = Opcode(rawValue: 0x0002)
    public static let stats = Opcode(rawValue: 0x0003)
    /// Server to client only: the server is shutting down.
    public static let goingAway = Opcode(rawValue: 0x0004)

    public static let shortTermGet = Opcode(rawValue: 0x0101)
    public static let shortTermMultiGet = Opcode(rawValue: 0x0102)
    public static let shortTermPut = Opcode(rawValue: 0x0103)
    public static let shortTermDelete = Opcode(rawValue: 0x0104)
    public static let shortTermTouch = Opcode(rawValue: 0x0105)
    public static let shortTermStats = Opcode(rawValue: 0x0106)

    public static let episodicAppend = Opcode(rawValue: 0x0201)
    public static let episodicReadRange = Opcode(rawValue: 0x0202)
    public static let episodicScan = Opcode(rawValue: 0x0203)
    public static let episodicFollow = Opcode(rawValue: 0x0204)
    public static let episodicUnfollow = Opcode(rawValue: 0x0205)

    public static let longTermGet = Opcode(rawValue: 0x0301)
    public static let longTermPut = Opcode(rawValue: 0x0302)
    public static let longTermDelete = Opcode(rawValue: 0x0303)
    public static let longTermCompareAndSet = Opcode(rawValue: 0x0304)
    public static let longTermScan = Opcode(rawValue: 0x0305)

    public static let leadUpsert = Opcode(rawValue: 0x0501)
    public static let leadGet = Opcode(rawValue: 0x0502)
    public static let leadGetByEmail = Opcode(rawValue: 0x0503)
    public static let leadDelete = Opcode(rawValue: 0x0504)
    public static let leadQuery = Opcode(rawValue: 0x0505)
    /// Many leads in one request, each with its own outcome (docs/PROTOCOL.md, "Upsert batches").
    public static let leadUpsertBatch = Opcode(rawValue: 0x0506)
    public static let campaignUpsert = Opcode(rawValue: 0x0511)
    public static let campaignGet = Opcode(rawValue: 0x0512)
    public static let campaignDelete = Opcode(rawValue: 0x0513)
    public static let campaignQuery = Opcode(rawValue: 0x0514)
    public static let campaignUpsertBatch = Opcode(rawValue: 0x0515)
    public static let metricAppend = Opcode(rawValue: 0x0521)
    public static let campaignSummary = Opcode(rawValue: 0x0522)
    public static let activeCampaignSummaries = Opcode(rawValue: 0x0523)
    public static let campaignHourly = Opcode(rawValue: 0x0524)

    public static let semanticPut = Opcode(rawValue: 0x0401)
    public static let semanticGet = Opcode(rawValue: 0x0402)
    public static let semanticDelete = Opcode(rawValue: 0x0403)
    public static let semanticScan = Opcode(rawValue: 0x0404)

    // Lifecycle (docs/PROTOCOL.md, "Lifecycle"): consolidation, erase, engagement summaries.
    public static let consolidate = Opcode(rawValue: 0x0701)
    public static let eraseNamespace = Opcode(rawValue: 0x0702)
    public static let eraseLead = Opcode(rawValue: 0x0703)
    public static let leadEngagement = Opcode(rawValue: 0x0704)

    /// Every request opcode version 1 defines, in wire order.
    public static let requests: [Opcode] = [
        .hello, .ping, .stats,
        .shortTermGet, .shortTermMultiGet, .shortTermPut, .shortTermDelete, .shortTermTouch, .shortTermStats,
        .episodicAppend, .episodicReadRange, .episodicScan, .episodicFollow, .episodicUnfollow,
        .longTermGet, .longTermPut, .longTermDelete, .longTermCompareAndSet, .longTermScan,
        .semanticPut, .semanticGet, .semanticDelete, .semanticScan,
        .leadUpsert, .leadGet, .leadGetByEmail, .leadDelete, .leadQuery,
        .campaignUpsert, .campaignGet, .campaignDelete, .campaignQuery,
        .metricAppend, .campaignSummary, .activeCampaignSummaries, .campaignHourly,
        .consolidate, .eraseNamespace, .eraseLead, .leadEngagement,
    ] + Opcode.snapshotRequests + [
        // Last, after the snapshot requests, so that the fuzz corpus's opcode indices
        // (`MessageFuzzTarget.opcodes`, the seeds' first byte) of every earlier opcode stay.
        .leadUpsertBatch, .campaignUpsertBatch,
    ]

    /// Whether the request goes through the group-commit writer (and so may carry durability
    /// flags). Short-term puts, deletes and touches change memory only and do not.
    public var writes: Bool {
        switch self {
        case .longTermPut, .longTermDelete, .longTermCompareAndSet, .semanticPut, .semanticDelete, .episodicAppend,
             .leadUpsert, .leadDelete, .campaignUpsert, .campaignDelete, .metricAppend, .leadUpsertBatch, .campaignUpsertBatch: true
        default: false
        }
    }

    /// A stable snake_case name for logs and metric labels.
    public var name: String {
        switch self {
        case .none: "none"
        case .hello: "hello"
        case .ping: "ping"
        case .stats: "stats"
        case .goingAway: "going_away"
        case .shortTermGet: "short_term_get"
        case .shortTermMultiGet: "short_term_multi_get"
        case .shortTermPut: "short_term_put"
        case .shortTermDelete: "short_term_delete"
        case .shortTermTouch: "short_term_touch"
        case .shortTermStats: "short_term_stats"
        case .episodicAppend: "episodic_append"
        case .episodicReadRange: "episodic_read_range"
        case .episodicScan: "episodic_scan"
        case .episodicFollow: "episodic_follow"
        case .episodicUnfollow: "episodic_unfollow"
        case .longTermGet: "long_term_get"
        case .longTermPut: "long_term_put"
        case .longTermDelete: "long_term_delete"
        case .longTermCompareAndSet: "long_term_compare_and_set"
        case .longTermScan: "long_term_scan"
        case .leadUpsert: "lead_upsert"
        case .leadGet: "lead_get"
        case .leadGetByEmail: "lead_get_by_email"
        case .leadDelete: "lead_delete"
        case .leadQuery: "lead_query"
        case .leadUpsertBatch: "lead_upsert_batch"
        case .campaignUpsert: "campaign_upsert"
        case .campaignGet: "campaign_get"
        case .campaignDelete: "campaign_delete"
        case .campaignQuery: "campaign_query"
        case .campaignUpsertBatch: "campaign_upsert_batch"
        case .metricAppend: "campaign_metric_append"
        case .campaignSummary: "campaign_summary"
        case .activeCampaignSummaries: "active_campaign_summaries"
        case .campaignHourly: "campaign_hourly"
        case .semanticPut: "semantic_put"
        case .semanticGet: "semantic_get"
        case .semanticDelete: "semantic_delete"
        case .semanticScan: "semantic_scan"
        case .consolidate: "consolidate"
        case .eraseNamespace: "erase_namespace"
        case .eraseLead: "erase_lead"
        case .leadEngagement: "lead_engagement"
        default: snapshotName ?? "unknown"
        }
    }

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "\(name)(0x\(String(repeating: "0", count: 4 - hex.count))\(hex))"
    }
}
