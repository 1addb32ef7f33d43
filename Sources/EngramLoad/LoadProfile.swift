/// A load profile: how many journeys a second, over how many connections, on how much data.
///
/// The figures come from the plan Engram replaces (docs/PERFORMANCE.md, "Journeys under load"):
/// `seed` is today's load, `seed-10x` the plan's 10x target, `max` the search for the highest
/// rate one node holds. A transaction is one journey (several requests); the plan's "requests a
/// minute" figure is kept for the report, but the schedule is driven by transactions a second,
/// which is the larger of the two loads.
public struct LoadProfile: Sendable, Hashable {
    public var name: String
    /// Journeys started a second, on a fixed schedule (the first step's rate for `max`).
    public var transactionsPerSecond: Double
    /// Connections in the client's pool: the plan's concurrent users.
    public var connectionCount: Int
    public var campaignCount: Int
    public var leadsPerHour: Int
    /// The plan's API requests a minute, for the report.
    public var requestsPerMinute: Int
    /// Leads written before the run: a day of the profile's lead rate, so queries see a real index.
    public var preloadLeadCount: Int
    /// Long-term source profiles the triage journey reads.
    public var sourceCount: Int
    public var durationSeconds: Double
    /// `max` only: each step multiplies the rate by this until a step fails.
    public var stepFactor: Double
    /// `max` only: a step holds when its p99 journey latency is at or under this.
    public var stepLatencyP99MicrosecondsMax: UInt64

    public var isSearch: Bool { name == "max" }

    public static let seed = LoadProfile(
        name: "seed", transactionsPerSecond: 50, connectionCount: 100, campaignCount: 10, leadsPerHour: 500,
        requestsPerMinute: 1_000, preloadLeadCount: 12_000, sourceCount: 20, durationSeconds: 60,
        stepFactor: 1, stepLatencyP99MicrosecondsMax: 10_000)
    public static let seed10x = LoadProfile(
        name: "seed-10x", transactionsPerSecond: 500, connectionCount: 1_000, campaignCount: 100, leadsPerHour: 5_000,
        requestsPerMinute: 10_000, preloadLeadCount: 120_000, sourceCount: 20, durationSeconds: 60,
        stepFactor: 1, stepLatencyP99MicrosecondsMax: 10_000)
    /// Starts at twice `seed-10x`'s rate (`--rate` lowers it) and multiplies it by 1.5 a step; data as `seed-10x`.
    public static let max = LoadProfile(
        name: "max", transactionsPerSecond: 1_000, connectionCount: 100, campaignCount: 100, leadsPerHour: 5_000,
        requestsPerMinute: 10_000, preloadLeadCount: 120_000, sourceCount: 20, durationSeconds: 10,
        stepFactor: 1.5, stepLatencyP99MicrosecondsMax: 10_000)

    public static let all: [LoadProfile] = [.seed, .seed10x, .max]

    public static func named(_ name: String) -> LoadProfile? {
        all.first { $0.name == name }
    }
}

/// The tool's own bounds, each with its reason (the engine's bounds live in `Limits`).
public enum LoadLimits {
    /// Journeys in flight at once. An open loop must not wait for answers, but a stalled server
    /// must not grow the client without bound either: past this, a due journey is not sent and
    /// counts as an error ("client in-flight limit"), which the report shows.
    public static let transactionsInFlightMax = 100_000
    /// Latencies are recorded in microseconds up to a minute; slower answers count as a minute.
    public static let latencyMicrosecondsMax: UInt64 = 60_000_000
    /// Seconds of throughput kept for the report's time series (one sample a second).
    public static let throughputSecondsMax = 86_400
    /// Distinct error messages kept for the report; the rest are counted under "other".
    public static let errorMessageCountMax = 16
    /// `max` stops after this many steps even if every one held (1.5^30 times the first rate).
    public static let searchStepCountMax = 30
    /// Requests the preload keeps in flight.
    public static let preloadConcurrency = 256
    /// Leads (and campaigns) one preload request carries, as an upsert batch: the server's
    /// default `leadUpsertBatchCountMax`; the preload's leads are a few hundred bytes, far under
    /// its 1 MiB bound on a batch's records.
    public static let preloadBatchCount = 1_024
    /// Upsert batches the preload keeps in flight: the writer takes every queued request into
    /// its next batch, so many queued make few, large batches (as `engram import` measured: 64 in
    /// flight loaded fastest); 32 here, spread over the client's pooled connections.
    public static let preloadBatchesInFlight = 32
}

/// The journey mix: of every 10 transactions, 3 lead processing, 5 campaign engagement, 2
/// analytics. Leads arrive less often than agents act on them; analytics are few but heavy.
public enum JourneyKind: String, CaseIterable, Codable, Sendable {
    case leadProcessing = "lead-processing"
    case campaignEngagement = "campaign-engagement"
    case analytics = "analytics"

    static func pick(_ draw: UInt64) -> JourneyKind {
        switch draw % 10 {
        case 0..<3: .leadProcessing
        case 3..<8: .campaignEngagement
        default: .analytics
        }
    }
}

/// Every request a journey makes, for the per-operation histograms.
public enum LoadOperation: String, CaseIterable, Codable, Sendable {
    // Lead processing (a triage agent).
    case sourceProfileGet = "lead: long-term get source profile"
    case leadUpsert = "lead: lead upsert"
    case leadScoredAppend = "lead: episode append (scored)"
    case contextPut = "lead: short-term put context"
    // Campaign engagement (an engagement agent).
    case leadGet = "engagement: lead get"
    case recentEpisodes = "engagement: recent episodes"
    case sentMetric = "engagement: metric append (sent)"
    case sentEpisode = "engagement: episode append (sent)"
    case responseMetric = "engagement: metric append (open/click)"
    case responseEpisode = "engagement: episode append (open/click)"
    // Analytics (an optimization agent).
    case activeSummaries = "analytics: active campaign summaries"
    case hourlySeries = "analytics: hourly series"
    case bestLeads = "analytics: lead query (best recent)"

    public var journey: JourneyKind {
        switch self {
        case .sourceProfileGet, .leadUpsert, .leadScoredAppend, .contextPut: .leadProcessing
        case .leadGet, .recentEpisodes, .sentMetric, .sentEpisode, .responseMetric, .responseEpisode: .campaignEngagement
        case .activeSummaries, .hourlySeries, .bestLeads: .analytics
        }
    }
}
