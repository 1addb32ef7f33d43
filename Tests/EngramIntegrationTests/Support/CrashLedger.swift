import EngramClient
import EngramProtocol
import Synchronization

/// What the crash loop's clients were told: every acknowledged write, and per client the one
/// write in flight when the server was killed (which may or may not have been applied). After a
/// restart `ServerCrashLoopTests` reads everything back and holds it to this ledger; a write in
/// flight found applied is adopted, one not found is forgotten (recovery has settled it for good).
struct CrashLedger: Sendable {
    /// Long-term keys: the last acknowledged version and value.
    var values: [String: VersionedValue] = [:]
    /// Episodes by agent, in sequence order.
    var episodes: [String: [WireEpisode]] = [:]
    /// Leads as the server stored them, by id.
    var leads: [WireUUID: WireLead] = [:]
    /// Each client's campaign and the metric events acknowledged for it.
    var campaigns: [WireUUID: [WireMetricEvent]] = [:]
    /// Writes in flight at the kill, by client.
    var uncertain: [Int: InFlight] = [:]
    var acknowledgedCount = 0

    enum InFlight: Sendable {
        case put(key: String, value: [UInt8])
        case append(agent: String, body: [UInt8])
        case lead(WireLead)
        case metrics(campaign: WireUUID, events: [WireMetricEvent])
    }

    static let hourMicroseconds: Int64 = 3_600_000_000

    /// The totals of `events`, as a summary must give them.
    static func totals(_ events: [WireMetricEvent]) -> WireTotals {
        var totals = WireTotals()
        for event in events {
            totals.eventCount += 1
            totals.sent += UInt64(event.sent)
            totals.opened += UInt64(event.opened)
            totals.clicked += UInt64(event.clicked)
            totals.converted += UInt64(event.converted)
        }
        return totals
    }

    /// The hourly buckets of `events`, ascending.
    static func hourly(_ events: [WireMetricEvent]) -> [WireHourlyBucket] {
        let byHour = Dictionary(grouping: events) { $0.timeMicroseconds - $0.timeMicroseconds % hourMicroseconds }
        return byHour.keys.sorted().map { WireHourlyBucket(hourStartMicroseconds: $0, totals: totals(byHour[$0]!)) }
    }
}

/// A failed expectation of the crash loop, with the round it was found in.
struct CrashLoopFailure: Error, CustomStringConvertible {
    let description: String
    init(_ round: Int, _ message: String) { description = "round \(round): \(message)" }
}

/// The ledger shared by the writer tasks and the checks.
final class SharedLedger: Sendable {
    private let mutex = Mutex(CrashLedger())

    func withLock<Result: Sendable>(_ body: (inout CrashLedger) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
