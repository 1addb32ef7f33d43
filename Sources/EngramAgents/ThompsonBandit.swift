/// Thompson sampling over campaigns (Thompson, 1933; Chapelle and Li, 2011): each campaign's
/// conversion rate has a Beta(1 + converted, 1 + sent − converted) posterior; the share of send
/// volume a campaign gets is the probability that it is the best, estimated from joint draws,
/// with a small floor so no active campaign stops being measured. Campaigns that have had enough
/// sends and are almost surely not the best are paused.
///
/// Pure: the decision depends only on the observations, the configuration and the generator.
public enum ThompsonBandit {
    public struct Configuration: Sendable, Hashable {
        /// Joint posterior draws per decision; the error of a share is about 1/√(4·draws).
        public var drawCount: Int
        /// Every active campaign keeps at least this share of sends.
        public var explorationShareMin: Double
        /// A campaign is not paused before it has had this many sends.
        public var pauseSentMin: Int
        /// A campaign whose probability of being the best is below this is paused.
        public var pauseProbabilityMax: Double

        public init(drawCount: Int = 2_000, explorationShareMin: Double = 0.02, pauseSentMin: Int = 150, pauseProbabilityMax: Double = 0.005) {
            precondition(drawCount > 0, "drawCount must be positive, got \(drawCount)")
            self.drawCount = drawCount
            self.explorationShareMin = explorationShareMin
            self.pauseSentMin = pauseSentMin
            self.pauseProbabilityMax = pauseProbabilityMax
        }
    }

    /// What the optimizer observed about one campaign.
    public struct Arm: Sendable, Hashable {
        public var name: String
        public var active: Bool
        public var sent: UInt64
        public var converted: UInt64
        /// The current hour's bucket, for the reason text.
        public var hourSent: UInt64
        public var hourConverted: UInt64

        public init(name: String, active: Bool, sent: UInt64, converted: UInt64, hourSent: UInt64 = 0, hourConverted: UInt64 = 0) {
            self.name = name
            self.active = active
            self.sent = sent
            self.converted = converted
            self.hourSent = hourSent
            self.hourConverted = hourConverted
        }

        var rate: Double { sent == 0 ? 0 : Double(converted) / Double(sent) }
    }

    public struct Decision: Sendable, Hashable {
        /// Per arm, its share of sends; 0 for inactive and newly paused arms; sums to 1.
        public var allocation: [Double]
        /// Per arm, the estimated probability that it is the best.
        public var probabilityBest: [Double]
        /// Arms to pause now, with the reason for each.
        public var pauses: [(index: Int, reason: String)]
        public var reason: String

        public static func == (left: Decision, right: Decision) -> Bool {
            left.allocation == right.allocation && left.probabilityBest == right.probabilityBest && left.reason == right.reason
                && left.pauses.map(\.index) == right.pauses.map(\.index) && left.pauses.map(\.reason) == right.pauses.map(\.reason)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(allocation)
            hasher.combine(reason)
        }
    }

    /// For each active arm, the fraction of joint posterior draws in which it had the highest rate.
    public static func probabilityBest(_ arms: [Arm], drawCount: Int, random: inout SeededRandom) -> [Double] {
        var wins = Array(repeating: 0, count: arms.count)
        let active = arms.indices.filter { arms[$0].active }
        guard !active.isEmpty else { return Array(repeating: 0, count: arms.count) }
        for _ in 0..<drawCount {
            var bestIndex = active[0]
            var bestDraw = -1.0
            for index in active {
                let arm = arms[index]
                let draw = random.nextBeta(alpha: 1 + Double(arm.converted), beta: 1 + Double(arm.sent - Swift.min(arm.converted, arm.sent)))
                if draw > bestDraw {
                    bestDraw = draw
                    bestIndex = index
                }
            }
            wins[bestIndex] += 1
        }
        return wins.map { Double($0) / Double(drawCount) }
    }

    public static func decide(_ arms: [Arm], configuration: Configuration, random: inout SeededRandom) -> Decision {
        let probability = probabilityBest(arms, drawCount: configuration.drawCount, random: &random)
        var active = arms.map(\.active)
        let bestIndex = probability.indices.max { probability[$0] < probability[$1] } ?? 0
        var pauses: [(index: Int, reason: String)] = []
        for index in arms.indices where active[index] && index != bestIndex {
            let arm = arms[index]
            guard active.filter({ $0 }).count > 1, arm.sent >= UInt64(configuration.pauseSentMin), probability[index] < configuration.pauseProbabilityMax else { continue }
            active[index] = false
            let best = arms[bestIndex]
            pauses.append((index, "\(arm.name) converted \(arm.converted) of \(arm.sent) (\(percent(arm.rate))), \(arm.hourConverted) of \(arm.hourSent) this hour; P(best) \(fraction(probability[index])) < \(fraction(configuration.pauseProbabilityMax)) after at least \(configuration.pauseSentMin) sends; \(best.name) converts \(percent(best.rate))"))
        }
        let activeCount = active.filter { $0 }.count
        var allocation = Array(repeating: 0.0, count: arms.count)
        if activeCount > 0 {
            let floor = Swift.min(configuration.explorationShareMin, 1 / Double(activeCount))
            let activeProbability = arms.indices.filter { active[$0] }.reduce(0.0) { $0 + probability[$1] }
            for index in arms.indices where active[index] {
                let share = activeProbability > 0 ? probability[index] / activeProbability : 1 / Double(activeCount)
                allocation[index] = floor + (1 - floor * Double(activeCount)) * share
            }
        }
        let parts = arms.indices.filter { arms[$0].active }.map { index in
            "\(arms[index].name) \(arms[index].converted)/\(arms[index].sent) P(best) \(fraction(probability[index])) share \(fraction(allocation[index]))"
        }
        return Decision(allocation: allocation, probabilityBest: probability, pauses: pauses, reason: "Thompson sampling over \(configuration.drawCount) draws: " + parts.joined(separator: "; "))
    }

    static func percent(_ rate: Double) -> String {
        let tenths = Int((rate * 1_000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    static func fraction(_ value: Double) -> String {
        let thousandths = Int((value * 1_000).rounded())
        let digits = String(thousandths % 1_000)
        return "\(thousandths / 1_000).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
    }
}
