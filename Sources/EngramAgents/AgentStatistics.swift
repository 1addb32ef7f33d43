import Synchronization

/// One counter shared by every agent task: an atomic in a class, so counters can sit in arrays.
public final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)

    public init() {}

    public func add(_ amount: Int = 1) {
        atomic.wrappingAdd(amount, ordering: .relaxed)
    }

    public var value: Int { atomic.load(ordering: .relaxed) }
}

/// The counters a run keeps while it runs, read by the live view and the final summary. Shared by
/// every agent task; instances never wait on each other to count.
public final class AgentStatistics: Sendable {
    public let leadsTriaged = Counter()
    public let leadsQualified = Counter()
    /// Leads the server refused (a duplicate email, a malformed field) or without a valid id.
    public let leadsRejected = Counter()
    public let leadsSeenByEngagement = Counter()
    public let emailsSent = Counter()
    public let opens = Counter()
    public let clicks = Counter()
    public let conversions = Counter()
    public let policyDecisions = Counter()
    public let campaignsPaused = Counter()
    public let weightAdjustments = Counter()
    public let retries = Counter()
    public let sentByCampaign: [Counter]
    public let latency = LatencyHistogram()

    public init(campaignCount: Int = CampaignCatalog.campaigns.count) {
        sentByCampaign = (0..<campaignCount).map { _ in Counter() }
    }
}

/// Request latency as a log-linear histogram: buckets of 1/8 octave from 1 µs to about 67 s.
/// Fixed size, lock-free; percentiles are read to within one bucket (at most 12.5 %).
public final class LatencyHistogram: Sendable {
    static let subBucketCount = 8
    static let octaveCount = 26
    private let buckets: [Counter]
    private let total = Counter()
    private let totalMicroseconds = Counter()

    public init() {
        buckets = (0..<(Self.octaveCount * Self.subBucketCount)).map { _ in Counter() }
    }

    public func record(microseconds: Int) {
        let value = Swift.max(microseconds, 1)
        buckets[Self.bucket(value)].add()
        total.add()
        totalMicroseconds.add(value)
    }

    public var count: Int { total.value }

    static func bucket(_ value: Int) -> Int {
        let octave = Int.bitWidth - 1 - value.leadingZeroBitCount
        guard octave < octaveCount else { return octaveCount * subBucketCount - 1 }
        let fraction = octave >= 3 ? (value >> (octave - 3)) & 7 : (value << (3 - octave)) & 7
        return octave * subBucketCount + fraction
    }

    /// The upper edge of a bucket, in microseconds.
    static func upperMicroseconds(_ bucket: Int) -> Double {
        let octave = bucket / subBucketCount
        let fraction = bucket % subBucketCount
        return Double(1 << octave) * (1 + Double(fraction + 1) / Double(subBucketCount))
    }

    /// The value below which `quantile` (0 to 1) of the recorded values fall, in microseconds;
    /// 0 when nothing was recorded.
    public func percentileMicroseconds(_ quantile: Double) -> Double {
        let counts = buckets.map(\.value)
        let total = counts.reduce(0, +)
        guard total > 0 else { return 0 }
        let target = Swift.max(1, Int((quantile * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= target { return Self.upperMicroseconds(index) }
        }
        return Self.upperMicroseconds(counts.count - 1)
    }

    public var meanMicroseconds: Double {
        let count = total.value
        return count == 0 ? 0 : Double(totalMicroseconds.value) / Double(count)
    }
}
