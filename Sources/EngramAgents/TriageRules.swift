#if canImport(Glibc)
import Glibc
#endif

/// Triage's weights, kept in long-term memory at `triage/weights` so every triage instance scores
/// with the same ones and a restarted run goes on from what was learned.
public struct TriageWeights: Sendable, Hashable, Codable {
    /// One weight per `TriageFeatures.names`, summing to 1.
    public var weights: [Double]
    /// Subtracted, times the free-mail feature, from the weighted sum.
    public var freeMailPenalty: Double
    /// How many times the weights were adjusted.
    public var adjustmentCount: Int
    /// The conversions the last adjustment was computed from.
    public var basedOnConversions: Int

    public static let initial = TriageWeights(weights: [0.20, 0.15, 0.30, 0.10, 0.15, 0.10], freeMailPenalty: 0.15, adjustmentCount: 0, basedOnConversions: 0)

    public init(weights: [Double], freeMailPenalty: Double, adjustmentCount: Int, basedOnConversions: Int) {
        precondition(weights.count == TriageFeatures.names.count, "\(weights.count) weights for \(TriageFeatures.names.count) features")
        self.weights = weights
        self.freeMailPenalty = freeMailPenalty
        self.adjustmentCount = adjustmentCount
        self.basedOnConversions = basedOnConversions
    }
}

/// What triage decided about a lead; the body of its `lead.triaged` episode.
public struct TriageDecision: Sendable, Hashable, Codable {
    public var lead: String
    public var email: String
    public var score: Int
    public var category: String
    public var route: String
    public var segment: Segment
    public var qualified: Bool
    public var source: String
    public var domain: String
    public var features: TriageFeatures
    public var weightsAdjustment: Int
}

/// The transparent rule set: a weighted sum of the features, thresholds for the category, a
/// table for the route. Pure functions, so the same lead and weights always get the same answer.
public enum TriageRules {
    /// Scores at or above this are hot.
    public static let hotScoreMin = 70
    /// Scores at or above this are qualified (warm or hot) and go to engagement.
    public static let qualifiedScoreMin = 45

    /// 0 to 100: the weighted sum of the features less the free-mail penalty, clamped to [0, 1].
    public static func score(_ features: TriageFeatures, _ weights: TriageWeights) -> Int {
        var sum = 0.0
        for (value, weight) in zip(features.positive, weights.weights) { sum += value * weight }
        sum -= features.freeMail * weights.freeMailPenalty
        // Half a point rounds up; the small nudge keeps a sum that is exactly x.5 in decimal (0.865)
        // from rounding down because its binary fraction falls a hair short.
        return Int((Swift.min(Swift.max(sum, 0), 1) * 100 + 1e-9).rounded())
    }

    public static func category(score: Int) -> String {
        score >= hotScoreMin ? "hot" : score >= qualifiedScoreMin ? "warm" : "cold"
    }

    /// Hot enterprise leads go to the enterprise sales desk, other hot leads to inside sales, warm
    /// leads to their segment's nurture track, cold leads to the archive.
    public static func route(category: String, segment: Segment) -> String {
        switch category {
        case "hot": segment == .enterprise ? "sales/enterprise" : "sales/inside"
        case "warm": "nurture/\(segment.rawValue)"
        default: "archive"
        }
    }

    public static func decide(_ lead: IntakeLead, id: String, features: TriageFeatures, weights: TriageWeights) -> TriageDecision {
        let score = score(features, weights)
        let category = category(score: score)
        let segment = Segment(employees: lead.employees)
        return TriageDecision(
            lead: id, email: lead.email, score: score, category: category, route: route(category: category, segment: segment),
            segment: segment, qualified: score >= qualifiedScoreMin, source: lead.source, domain: lead.companyDomain,
            features: features, weightsAdjustment: weights.adjustmentCount)
    }
}

/// Observed conversions by feature, kept in long-term memory at `learn/features` (engagement adds
/// to it, triage learns from it): for engaged leads, the sum of each feature's value, and the
/// same sum over the leads that converted.
public struct FeatureStatistics: Sendable, Hashable, Codable {
    public var engaged: Int = 0
    public var converted: Int = 0
    public var sums: [Double] = Array(repeating: 0, count: TriageFeatures.names.count)
    public var convertedSums: [Double] = Array(repeating: 0, count: TriageFeatures.names.count)

    public init() {}

    public mutating func add(_ features: TriageFeatures, converted: Bool) {
        engaged += 1
        for (index, value) in features.positive.enumerated() { sums[index] += value }
        if converted {
            self.converted += 1
            for (index, value) in features.positive.enumerated() { convertedSums[index] += value }
        }
    }

    public mutating func merge(_ other: FeatureStatistics) {
        engaged += other.engaged
        converted += other.converted
        for index in sums.indices {
            sums[index] += other.sums[index]
            convertedSums[index] += other.convertedSums[index]
        }
    }

    /// Per feature, its mean among converted leads over its mean among all engaged leads: above 1
    /// when converters have more of it. 1 when there is nothing to compare.
    public var lifts: [Double] {
        sums.indices.map { index in
            guard converted > 0, engaged > 0, sums[index] > 0 else { return 1 }
            return (convertedSums[index] / Double(converted)) / (sums[index] / Double(engaged))
        }
    }
}

/// How weights learn from conversions: each initial weight times its feature's lift (held to
/// [liftMin, liftMax] so one noisy feature cannot take over or vanish), then all scaled to sum 1.
public enum WeightLearning {
    public static let liftMin = 0.5
    public static let liftMax = 2.0
    /// Fewer conversions than this say too little to learn from.
    public static let conversionsMin = 20

    /// The adjusted weights, or nil when `statistics` has fewer than `conversionsMin` conversions.
    public static func adjust(_ current: TriageWeights, from statistics: FeatureStatistics) -> TriageWeights? {
        guard statistics.converted >= conversionsMin else { return nil }
        let raw = zip(TriageWeights.initial.weights, statistics.lifts).map { weight, lift in weight * Swift.min(Swift.max(lift, liftMin), liftMax) }
        let total = raw.reduce(0, +)
        let weights = raw.map { ($0 / total * 10_000).rounded() / 10_000 }
        return TriageWeights(weights: weights, freeMailPenalty: current.freeMailPenalty, adjustmentCount: current.adjustmentCount + 1, basedOnConversions: statistics.converted)
    }

    /// One line naming each feature's lift and new weight, for the adjustment's episode.
    public static func reason(_ weights: TriageWeights, from statistics: FeatureStatistics) -> String {
        let parts = zip(TriageFeatures.names, zip(statistics.lifts, weights.weights)).map { name, pair in
            "\(name) lift \(formatted(pair.0)) weight \(formatted(pair.1))"
        }
        return "from \(statistics.converted) conversions of \(statistics.engaged) engaged leads: " + parts.joined(separator: ", ")
    }

    static func formatted(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
