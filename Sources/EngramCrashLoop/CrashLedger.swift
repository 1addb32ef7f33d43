import EngramClient
import EngramProtocol

/// What the crash loop's connections were told: every acknowledged write, and per connection the
/// one write in flight when the server was killed, which may or may not have been applied.
///
/// After each restart `Verifier` reads everything back through the server and holds it to this
/// ledger. A write in flight that is found applied is adopted (it becomes acknowledged); one not
/// found is forgotten, since recovery has settled it for good. Held by `SharedLedger`.
struct CrashLedger: Sendable {
    /// Long-term keys of the main namespace (`lt/c<connection>/k<n>`), each written by one
    /// connection only, so its versions follow that connection's order.
    var values: [String: LongTermEntry] = [:]
    /// Compare-and-set counters (`counter/<n>`), shared by every connection.
    var counters: [String: CounterEntry] = [:]
    /// Episodes by agent. Several connections append to each agent.
    var episodes: [String: AgentEpisodes] = [:]
    /// Live leads by id, with the connection that owns them (it alone updates and erases them).
    var leads: [WireUUID: LeadEntry] = [:]
    /// Leads erased since the last verification, with their last email: both lookups must miss.
    var erasedLeads: [WireUUID: String] = [:]
    /// Emails that acknowledged updates replaced since the last verification: they must miss.
    var retiredEmails: [String] = []
    /// One campaign per connection, with the sums of its acknowledged metric events.
    var campaigns: [WireUUID: CampaignEntry] = [:]
    /// The scratch namespace, written and erased by connection 0 alone.
    var scratch = ScratchState()
    /// Writes in flight at the kill, by connection.
    var uncertain: [Int: InFlight] = [:]
    var acknowledged = AcknowledgedCounts()
    /// Acknowledged writes of the current round, which the kill waits for.
    var roundAcknowledged = 0
    /// What the writers saw that must not happen (a refusal of a valid write, an answer that
    /// contradicts the request); each fails the round.
    var problems: [String] = []
}

struct LongTermEntry: Sendable, Equatable {
    var version: UInt64
    var value: [UInt8]
    /// The per-key sequence number the value encodes.
    var sequence: Int
}

struct CounterEntry: Sendable, Equatable {
    /// Increments acknowledged (compare-and-set answered with a version).
    var acknowledged: Int
    /// The newest acknowledged version: the counter's version unless an uncertain increment
    /// was applied after it.
    var version: UInt64
}

struct LeadEntry: Sendable, Equatable {
    var owner: Int
    var lead: WireLead
}

struct CampaignEntry: Sendable, Equatable {
    var owner: Int
    var totals = WireTotals()
    /// Totals by hour start, as `campaignHourly` must answer them.
    var hourly: [Int64: WireTotals] = [:]

    mutating func add(_ events: [WireMetricEvent]) {
        for event in events {
            totals.add(event)
            hourly[event.hourStartMicroseconds, default: WireTotals()].add(event)
        }
    }
}

struct ScratchState: Sendable, Equatable {
    var values: [String: LongTermEntry] = [:]
    /// The scratch agent's episodes since the namespace's last erase.
    var episodes = AgentEpisodes()
}

/// One agent's episodes: those verified after earlier kills, as digests (a long run appends
/// millions; a digest is 40 bytes), and those acknowledged since, whole.
struct AgentEpisodes: Sendable, Equatable {
    /// Sequences 1, 2, 3, ..., as verified after an earlier restart.
    var verified: [EpisodeDigest] = []
    /// Acknowledged since the last verification, by sequence (each above `verified.count`).
    var acknowledged: [UInt64: WireEpisode] = [:]

    var count: Int { verified.count + acknowledged.count }
}

/// What identifies a stored episode of a known agent: its numbers, its kind and its body's length
/// and 64-bit FNV-1a hash. An episode is compared whole when it is first verified, and by its
/// digest afterwards.
struct EpisodeDigest: Sendable, Equatable {
    let position: UInt64
    let timestampMicroseconds: Int64
    let kind: UInt16
    let bodyByteCount: Int
    let bodyHash: UInt64

    init(_ episode: WireEpisode) {
        position = episode.position
        timestampMicroseconds = episode.timestampMicroseconds
        kind = episode.kind
        bodyByteCount = episode.body.count
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in episode.body { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        bodyHash = hash
    }
}

/// One connection's write in flight.
enum InFlight: Sendable, Equatable {
    case put(key: String, value: [UInt8], sequence: Int)
    /// Sets the counter to `count` if it still has the version it was read at.
    case increment(counter: String, count: Int)
    case append(agent: String, body: [UInt8])
    case leadUpsert(WireLead, isNew: Bool)
    case leadErase(WireUUID)
    case metrics(campaign: WireUUID, events: [WireMetricEvent])
    case scratchPut(key: String, value: [UInt8], sequence: Int)
    case scratchAppend(body: [UInt8])
    case scratchErase
}

extension InFlight {
    /// The per-key sequence number a put's value encodes.
    var putSequence: Int? {
        switch self {
        case .put(_, _, let sequence), .scratchPut(_, _, let sequence): sequence
        default: nil
        }
    }
}

/// Acknowledged writes by kind, over the whole run; each was checked after at least one kill.
public struct AcknowledgedCounts: Sendable, Equatable {
    public var puts = 0
    public var counterIncrements = 0
    public var episodeAppends = 0
    public var leadInserts = 0
    public var leadUpdates = 0
    public var leadErases = 0
    public var metricAppends = 0
    public var metricEvents = 0
    public var scratchPuts = 0
    public var scratchAppends = 0
    public var namespaceErases = 0

    public init() {}

    /// Every acknowledged request (a metric append counts once, whatever its events).
    public var total: Int {
        puts + counterIncrements + episodeAppends + leadInserts + leadUpdates + leadErases + metricAppends
            + scratchPuts + scratchAppends + namespaceErases
    }
}

extension WireTotals {
    mutating func add(_ event: WireMetricEvent) {
        eventCount += 1
        sent += UInt64(event.sent)
        opened += UInt64(event.opened)
        clicked += UInt64(event.clicked)
        converted += UInt64(event.converted)
    }
}

extension WireMetricEvent {
    static let hourMicroseconds: Int64 = 3_600_000_000

    var hourStartMicroseconds: Int64 {
        timeMicroseconds - timeMicroseconds % Self.hourMicroseconds
    }
}
