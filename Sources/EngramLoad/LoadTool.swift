#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol

/// What `engram-load` runs: a profile against one server, with a seed.
public struct LoadConfiguration: Sendable {
    public var profile: LoadProfile
    public var client: EngramClientConfiguration
    public var namespace: String
    public var seed: UInt64
    /// Skip writing the sources, campaigns and leads (they are there from an earlier run with the
    /// same seed and profile).
    public var skipPreload: Bool

    public init(profile: LoadProfile, client: EngramClientConfiguration = EngramClientConfiguration(), namespace: String = "load", seed: UInt64 = 1, skipPreload: Bool = false) {
        self.profile = profile
        self.client = client
        self.namespace = namespace
        self.seed = seed
        self.skipPreload = skipPreload
    }
}

/// The load generator: preload, warm every connection, then the profile's schedule (or, for
/// `max`, a schedule per step); returns the report.
public enum LoadTool {
    public typealias Progress = @Sendable (String) -> Void

    public static func run(_ configuration: LoadConfiguration, progress: Progress? = nil) async throws(EngramClientError) -> LoadReport {
        var clientConfiguration = configuration.client
        clientConfiguration.connectionCount = configuration.profile.connectionCount
        clientConfiguration.clientName = "engram-load"
        let client = EngramClient(clientConfiguration)
        do throws(EngramClientError) {
            let report = try await run(configuration, client: client, progress: progress)
            await client.close()
            return report
        } catch {
            await client.close()
            throw error
        }
    }

    private static func run(_ configuration: LoadConfiguration, client: EngramClient, progress: Progress?) async throws(EngramClientError) -> LoadReport {
        let profile = configuration.profile
        let dataset = LoadDataset(namespace: configuration.namespace, seed: configuration.seed, profile: profile)
        let loadStart = loadAverage()
        if !configuration.skipPreload {
            progress?("preloading \(profile.sourceCount) source profiles, \(profile.campaignCount) campaigns, \(profile.preloadLeadCount) leads")
            try await Preload.run(client: client, dataset: dataset, profile: profile)
        }
        try await Preload.warm(client: client, connectionCount: profile.connectionCount)
        let runner = OpenLoopRunner(journeys: Journeys(client: client, dataset: dataset), seed: configuration.seed) { seconds, transactions, errors, p99, inFlight in
            progress?("\(format(seconds, 0)) s: \(transactions) transactions, \(errors) errors, p99 \(format(Double(p99) / 1_000, 3)) ms, \(inFlight) in flight")
        }
        var builder = ReportBuilder(configuration: configuration, loadAverageStart: loadStart)
        guard profile.isSearch else {
            let (recorder, seconds) = await timed { await runner.run(rate: profile.transactionsPerSecond, seconds: profile.durationSeconds) }
            return builder.build(recorder.snapshot(), rate: profile.transactionsPerSecond, elapsedSeconds: seconds, loadAverageEnd: loadAverage())
        }
        var rate = profile.transactionsPerSecond
        var best: (LoadRecorder.State, Double, Double)?
        var last: (LoadRecorder.State, Double, Double)?
        for stepIndex in 0..<LoadLimits.searchStepCountMax {
            progress?("step \(stepIndex + 1): \(format(rate, 0)) transactions/s for \(format(profile.durationSeconds, 0)) s")
            let firstIndex = UInt64(stepIndex) << 40
            let (recorder, seconds) = await timed { await runner.run(rate: rate, seconds: profile.durationSeconds, firstIndex: firstIndex) }
            let state = recorder.snapshot()
            let step = builder.step(state, rate: rate, elapsedSeconds: seconds)
            progress?("step \(stepIndex + 1): \(format(step.completedPerSecond, 0))/s completed, p99 \(format(step.p99Milliseconds, 3)) ms, errors \(format(step.errorRate * 100, 3)) %: \(step.held ? "held" : "did not hold")")
            last = (state, rate, seconds)
            guard step.held else { break }
            best = (state, rate, seconds)
            rate *= profile.stepFactor
        }
        let (state, bestRate, seconds) = best ?? last!
        builder.maxHeld = best?.1
        return builder.build(state, rate: bestRate, elapsedSeconds: seconds, loadAverageEnd: loadAverage())
    }

    private static func timed<Value>(_ body: () async -> Value) async -> (Value, Double) {
        let start = MonotonicClock.nanoseconds()
        let value = await body()
        return (value, Double(MonotonicClock.nanoseconds() - start) / 1e9)
    }

    static func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "unknown" }
        return loads.map { format($0, 2) }.joined(separator: " ")
    }
}

/// `value` with `digits` decimals, without Foundation's formatter.
func format(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard digits > 0 else { return sign + "\(whole)" }
    let fractionText = String(fraction)
    return sign + "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
}
