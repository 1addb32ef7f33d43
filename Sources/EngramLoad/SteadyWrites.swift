#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import Histogram

/// A steady stream of durable writes on an open-loop schedule while the server checkpoints, for
/// the write tail that checkpoints cause (docs/PERFORMANCE.md, "Writes while checkpoints run").
///
/// `rate` durable long-term puts a second (256-byte values, keys drawn from 100,000) are spread
/// over `connections` connections, each sending at fixed times whatever the answers do; a put's
/// latency runs from the time it was due to its answer, so a stall counts for every write it held
/// up (no coordinated omission). The run is cut into one-second windows, and the report gives the
/// whole run's percentiles and the worst window's, with the checkpoints the server took during the
/// run (its `stats`). Run the server with a short `--checkpoint-interval-ms` to force them.
public enum SteadyWrites {
    public struct Result: Sendable {
        public var rate: Double
        public var seconds: Double
        public var writes: Int
        public var errors: Int
        public var late: Int
        public var checkpoints: UInt64
        public var percentilesMilliseconds: [(percentile: Double, value: Double)]
        /// Per one-second window: p99.9 in milliseconds.
        public var windowP999Milliseconds: [Double]

        public var text: String {
            let overall = percentilesMilliseconds.map { "p\(format($0.percentile, $0.percentile == 99.9 ? 1 : 0)) \(format($0.value, 3))" }.joined(separator: ", ")
            let worst = windowP999Milliseconds.max() ?? 0
            let windows = windowP999Milliseconds.map { format($0, 2) }.joined(separator: " ")
            return """
            steady-writes: \(writes) durable puts in \(format(seconds, 1)) s at \(format(rate, 0))/s scheduled, \(errors) errors, \(late) sent late; \(checkpoints) checkpoints in the run
            latency ms (from the scheduled time): \(overall)
            worst one-second window p99.9: \(format(worst, 3)) ms; every window's p99.9 ms: \(windows)
            """
        }
    }

    static let valueBytes = 256
    static let keyspace: UInt64 = 100_000
    static let windowNanoseconds: UInt64 = 1_000_000_000

    public static func run(client: EngramClient, namespace: String, rate: Double, seconds: Double, connections: Int, seed: UInt64) async throws(EngramClientError) -> Result {
        let before = try await checkpointCount(client)
        let start = MonotonicClock.nanoseconds() + 100_000_000
        let windowCount = Int(seconds.rounded(.up))
        let interval = 1e9 * Double(connections) / rate
        let value = [UInt8](repeating: 0x5A, count: valueBytes)
        let perConnection = await withTaskGroup(of: (histograms: [Histogram<UInt64>], errors: Int, late: Int).self) { group in
            for connection in 0..<connections {
                group.addTask {
                    var histograms = (0..<windowCount).map { _ in newHistogram() }
                    var errors = 0
                    var late = 0
                    var random = SplitMix64.derived(seed: seed, stream: 40, index: UInt64(connection))
                    var index = 0
                    // Each connection's sends are offset by its share of one interval, so the
                    // server sees an even stream, not bursts of `connections` at once.
                    let offset = UInt64(interval * Double(connection) / Double(connections))
                    while true {
                        let due = start + offset + UInt64(interval * Double(index))
                        let window = Int((due - start) / windowNanoseconds)
                        guard window < windowCount else { break }
                        let now = MonotonicClock.nanoseconds()
                        if due > now {
                            try? await Task.sleep(nanoseconds: due - now)
                        } else if now - due > 1_000_000 {
                            late += 1
                        }
                        let key = Array("steady:\(random.next() % keyspace)".utf8)
                        do throws(EngramClientError) {
                            _ = try await client.put(namespace: namespace, key: key, value: value, durability: .durable)
                            let latency = (MonotonicClock.nanoseconds() - due) / 1_000
                            _ = histograms[window].record(Swift.min(Swift.max(1, latency), LoadLimits.latencyMicrosecondsMax))
                        } catch {
                            errors += 1
                        }
                        index += 1
                    }
                    return (histograms, errors, late)
                }
            }
            var windows = (0..<windowCount).map { _ in newHistogram() }
            var errors = 0
            var late = 0
            for await result in group {
                for (index, histogram) in result.histograms.enumerated() { windows[index].add(histogram) }
                errors += result.errors
                late += result.late
            }
            return (windows, errors, late)
        }
        let after = try await checkpointCount(client)
        var all = newHistogram()
        for window in perConnection.0 { all.add(window) }
        let percentiles = [50.0, 99.0, 99.9, 100.0].map { (percentile: $0, value: Double(all.valueAtPercentile($0)) / 1_000) }
        return Result(rate: rate, seconds: seconds, writes: Int(all.totalCount), errors: perConnection.1, late: perConnection.2, checkpoints: after - before,
                      percentilesMilliseconds: percentiles,
                      windowP999Milliseconds: perConnection.0.map { $0.totalCount == 0 ? 0 : Double($0.valueAtPercentile(99.9)) / 1_000 })
    }

    private static func newHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LoadLimits.latencyMicrosecondsMax, numberOfSignificantValueDigits: .three)
    }

    private static func checkpointCount(_ client: EngramClient) async throws(EngramClientError) -> UInt64 {
        try await client.stats().first { $0.name == "store.checkpoints" }?.value ?? 0
    }
}
