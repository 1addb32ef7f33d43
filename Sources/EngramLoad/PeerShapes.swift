import EngramClient
import EngramProtocol
import Histogram

/// Engram's side of the PostgreSQL comparisons in `tools/peers`, in pgbench's shapes: closed
/// loop (each client waits for its answer before it sends the next, as a pgbench client does),
/// through the client library over loopback.
public enum PeerShapes {
    public struct Result: Sendable {
        public var shape: String
        public var operations: Int
        public var errors: Int
        public var perSecond: Double
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double

        /// `shape,operations/s,p50 ms,p99 ms,errors`: one line for a script.
        public var csv: String {
            "\(shape),\(format(perSecond, 0)),\(format(p50Milliseconds, 3)),\(format(p99Milliseconds, 3)),\(errors)"
        }
    }

    /// Durable lead inserts (each a new id and email) from `clients` clients for `seconds`: the
    /// counterpart of `pgbench -c 16 -f lead_insert.sql`.
    public static func leadInserts(client: EngramClient, namespace: String, clients: Int, seconds: Double, seed: UInt64) async -> Result {
        await closedLoop(shape: "lead-insert-\(clients)", clients: clients, seconds: seconds) { (clientIndex, index) throws(EngramClientError) in
            var random = SplitMix64.derived(seed: seed, stream: 20 + UInt64(clientIndex), index: UInt64(index))
            let id = random.uuid()
            let lead = WireLead(
                id: id, email: LoadDataset.email(for: id), name: "Lead \(index)", company: "Company \(random.next() % 1_000)",
                source: ["web", "ads", "referral", "event", "partner"][Int(random.next() % 5)], category: "b2b",
                score: UInt8(random.next() % 101), status: ["new", "contacted", "qualified", "converted", "lost"][Int(random.next() % 5)],
                metadata: Array("{\"utm_source\":\"google\",\"pages\":3}".utf8))
            try await client.leadUpsert(namespace: namespace, lead: lead)
        }
    }

    /// Loads `count` leads created uniformly over the last 30 days with scores uniform over 0 to
    /// 100 (as `load_million.sql` does for PostgreSQL), in upsert batches of 1,024, 32 in flight.
    public static func loadLeads(client: EngramClient, namespace: String, count: Int, seed: UInt64) async throws(EngramClientError) {
        let now = MonotonicClock.wallMicroseconds()
        try await Preload.inBatches(count: count) { (range) throws(EngramClientError) in
            let leads = range.map { index in lead(index, seed: seed, nowMicroseconds: now) }
            try Preload.requireStored(try await client.leadUpsertBatch(namespace: namespace, leads: leads))
        }
    }

    /// Lead `index` of `loadLeads`: the same for the same seed.
    static func lead(_ index: Int, seed: UInt64, nowMicroseconds now: Int64) -> WireLead {
        var random = SplitMix64.derived(seed: seed, stream: 30, index: UInt64(index))
        let id = random.uuid()
        return WireLead(
            id: id, email: LoadDataset.email(for: id), name: "Lead \(index)", company: "Company \(index % 1_000)",
            source: ["web", "ads", "referral", "event", "partner"][Int(random.next() % 5)], category: ["b2b", "b2c", "partner"][Int(random.next() % 3)],
            score: UInt8(random.next() % 101), status: ["new", "contacted", "qualified", "converted", "lost"][Int(random.next() % 5)],
            metadata: Array("{\"utm_source\":\"google\",\"pages\":3}".utf8),
            createdAtMicroseconds: now - Int64(random.next() % (30 * 86_400_000_000)))
    }

    /// "Score above 80 in the last 24 hours, best first, limit 100", from one client for
    /// `seconds`: the counterpart of `pgbench -c 1 -M prepared -f lead_query.sql`.
    public static func leadQuery(client: EngramClient, namespace: String, seconds: Double) async -> Result {
        await closedLoop(shape: "lead-query-1", clients: 1, seconds: seconds) { (_, _) throws(EngramClientError) in
            let dayAgo = MonotonicClock.wallMicroseconds() - 86_400_000_000
            _ = try await client.leadQuery(namespace: namespace, WireLeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: dayAgo, order: .scoreThenNewest, limit: 100))
        }
    }

    private static func closedLoop(shape: String, clients: Int, seconds: Double, _ body: @escaping @Sendable (Int, Int) async throws(EngramClientError) -> Void) async -> Result {
        let start = MonotonicClock.nanoseconds()
        let end = start + UInt64(seconds * 1e9)
        let histograms = await withTaskGroup(of: (Histogram<UInt64>, Int).self) { group in
            for clientIndex in 0..<clients {
                group.addTask {
                    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LoadLimits.latencyMicrosecondsMax, numberOfSignificantValueDigits: .three)
                    var errors = 0
                    var index = 0
                    // At least one request a client, however late the task starts: a shape that
                    // measured nothing would print a rate of 0 and a p99 of 0 as if they were figures.
                    repeat {
                        let sent = MonotonicClock.nanoseconds()
                        do throws(EngramClientError) {
                            try await body(clientIndex, index)
                            _ = histogram.record(Swift.min(Swift.max(1, (MonotonicClock.nanoseconds() - sent) / 1_000), LoadLimits.latencyMicrosecondsMax))
                        } catch {
                            errors += 1
                        }
                        index += 1
                    } while MonotonicClock.nanoseconds() < end
                    return (histogram, errors)
                }
            }
            var all = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LoadLimits.latencyMicrosecondsMax, numberOfSignificantValueDigits: .three)
            var errors = 0
            for await (histogram, clientErrors) in group {
                all.add(histogram)
                errors += clientErrors
            }
            return (all, errors)
        }
        let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let (all, errors) = histograms
        let empty = all.totalCount == 0
        return Result(
            shape: shape, operations: Int(all.totalCount), errors: errors, perSecond: Double(all.totalCount) / elapsed,
            p50Milliseconds: empty ? 0 : Double(all.valueAtPercentile(50)) / 1_000, p99Milliseconds: empty ? 0 : Double(all.valueAtPercentile(99)) / 1_000)
    }
}
