import Histogram

/// The result of a run, as written into the report (JSON inside the HTML, and `--json`).
/// Latencies are milliseconds; rates are a second. Codable so tests and scripts read it back.
public struct LoadReport: Codable, Sendable, Equatable {
    public static let formatVersion = 1

    public struct Latency: Codable, Sendable, Equatable {
        public var name: String
        public var count: Int
        public var errors: Int
        public var meanMilliseconds: Double
        public var p50Milliseconds: Double
        public var p95Milliseconds: Double
        public var p99Milliseconds: Double
        public var p999Milliseconds: Double
        public var maxMilliseconds: Double
    }

    /// One point of a latency percentile curve.
    public struct CurvePoint: Codable, Sendable, Equatable {
        public var percentile: Double
        public var milliseconds: Double
    }

    public struct Curve: Codable, Sendable, Equatable {
        public var name: String
        public var points: [CurvePoint]
    }

    public struct Second: Codable, Sendable, Equatable {
        public var second: Int
        public var completed: Int
        public var errors: Int
    }

    public struct Target: Codable, Sendable, Equatable {
        public var name: String
        public var goal: String
        public var figure: String
        public var met: Bool
    }

    /// One step of the `max` search.
    public struct Step: Codable, Sendable, Equatable {
        public var scheduledPerSecond: Double
        public var completedPerSecond: Double
        public var p99Milliseconds: Double
        public var errorRate: Double
        public var held: Bool
    }

    public struct ErrorCount: Codable, Sendable, Equatable {
        public var message: String
        public var count: Int
    }

    public var formatVersion = LoadReport.formatVersion
    public var profile: String
    public var seed: UInt64
    public var server: String
    public var connections: Int
    public var scheduledPerSecond: Double
    public var durationSeconds: Double
    public var preloadLeadCount: Int
    public var campaignCount: Int
    public var transactions: Int
    public var errors: Int
    public var errorRate: Double
    public var completedPerSecond: Double
    public var requests: Int
    public var requestsPerSecond: Double
    public var overall: Latency
    public var journeys: [Latency]
    public var operations: [Latency]
    public var curves: [Curve]
    public var throughput: [Second]
    public var targets: [Target]
    public var steps: [Step]
    /// `max`: the highest scheduled rate whose step held; nil for the other profiles.
    public var maxHeldPerSecond: Double?
    public var errorMessages: [ErrorCount]
    /// The machine's load average at the start and the end of the run.
    public var loadAverageStart: String
    public var loadAverageEnd: String
}

extension LoadReport.Latency {
    init(name: String, histogram: Histogram<UInt64>, errors: Int) {
        let milliseconds = { (microseconds: UInt64) in Double(microseconds) / 1_000 }
        let empty = histogram.totalCount == 0
        self.init(
            name: name, count: Int(histogram.totalCount), errors: errors,
            meanMilliseconds: empty ? 0 : histogram.mean / 1_000,
            p50Milliseconds: empty ? 0 : milliseconds(histogram.valueAtPercentile(50)),
            p95Milliseconds: empty ? 0 : milliseconds(histogram.valueAtPercentile(95)),
            p99Milliseconds: empty ? 0 : milliseconds(histogram.valueAtPercentile(99)),
            p999Milliseconds: empty ? 0 : milliseconds(histogram.valueAtPercentile(99.9)),
            maxMilliseconds: empty ? 0 : milliseconds(histogram.max))
    }
}

extension LoadReport.Curve {
    /// The percentile curve HdrHistogram's percentile iteration gives (five ticks per halving of
    /// the remaining distance to 100 %), as HdrHistogram's own plots draw it.
    init(name: String, histogram: Histogram<UInt64>) {
        var points: [LoadReport.CurvePoint] = []
        if histogram.totalCount > 0 {
            for value in histogram.percentiles(ticksPerHalfDistance: 5) {
                points.append(LoadReport.CurvePoint(percentile: value.percentileLevelIteratedTo, milliseconds: Double(value.value) / 1_000))
                if value.percentileLevelIteratedTo >= 100 { break }
            }
        }
        self.init(name: name, points: points)
    }
}
