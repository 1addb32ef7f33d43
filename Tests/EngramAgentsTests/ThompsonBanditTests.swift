@testable import EngramAgents
import Testing

struct ThompsonBanditTests {
    /// A simulated population of four campaigns; sends go out in rounds of 50 by the bandit's
    /// allocation, and each send converts with its campaign's true rate.
    func simulate(rates: [Double], rounds: Int, seed: UInt64, configuration: ThompsonBandit.Configuration = ThompsonBandit.Configuration()) -> (decisions: [ThompsonBandit.Decision], arms: [ThompsonBandit.Arm]) {
        var arms = rates.indices.map { ThompsonBandit.Arm(name: "arm \($0)", active: true, sent: 0, converted: 0) }
        var allocation = Array(repeating: 1 / Double(rates.count), count: rates.count)
        var population = SeededRandom(mixing: seed, 1)
        var decisions: [ThompsonBandit.Decision] = []
        for round in 0..<rounds {
            for _ in 0..<50 {
                let arm = population.pick(weights: allocation)!
                arms[arm].sent += 1
                if population.chance(rates[arm]) { arms[arm].converted += 1 }
            }
            var random = SeededRandom(mixing: seed, 2, UInt64(round))
            let decision = ThompsonBandit.decide(arms, configuration: configuration, random: &random)
            for pause in decision.pauses { arms[pause.index].active = false }
            allocation = decision.allocation
            decisions.append(decision)
        }
        return (decisions, arms)
    }

    @Test func theSameSeedGivesTheSameDecisions() {
        let first = simulate(rates: [0.03, 0.05, 0.045, 0.10], rounds: 20, seed: 5)
        let second = simulate(rates: [0.03, 0.05, 0.045, 0.10], rounds: 20, seed: 5)
        #expect(first.decisions == second.decisions)
        #expect(first.arms == second.arms)
        let other = simulate(rates: [0.03, 0.05, 0.045, 0.10], rounds: 20, seed: 6)
        #expect(other.decisions != first.decisions)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func itConvergesToTheBetterArm(seed: UInt64) {
        let (decisions, arms) = simulate(rates: [0.03, 0.05, 0.045, 0.10], rounds: 60, seed: seed)
        let last = decisions.last!
        #expect(last.allocation[3] > 0.8, "final allocation \(last.allocation)")
        // Most of all sends went to the best arm, and it was never paused.
        #expect(arms[3].sent * 2 > arms.reduce(0) { $0 + $1.sent })
        #expect(arms[3].active)
        // The worst arm is starved (or paused).
        #expect(last.allocation[0] < 0.1, "final allocation \(last.allocation)")
        #expect(arms[0].sent < arms[3].sent / 5)
    }

    @Test func allocationSumsToOneWithAFloorForEveryActiveArm() {
        let arms = [
            ThompsonBandit.Arm(name: "a", active: true, sent: 1_000, converted: 10),
            ThompsonBandit.Arm(name: "b", active: true, sent: 1_000, converted: 100),
            ThompsonBandit.Arm(name: "c", active: false, sent: 500, converted: 1),
        ]
        var random = SeededRandom(seed: 1)
        let configuration = ThompsonBandit.Configuration(pauseSentMin: 10_000)
        let decision = ThompsonBandit.decide(arms, configuration: configuration, random: &random)
        #expect(abs(decision.allocation.reduce(0, +) - 1) < 1e-9)
        #expect(abs(decision.allocation[0] - configuration.explorationShareMin) < 1e-12)
        #expect(abs(decision.allocation[1] - (1 - configuration.explorationShareMin)) < 1e-12)
        #expect(decision.allocation[2] == 0)
        #expect(decision.probabilityBest[2] == 0)
        #expect(decision.pauses.isEmpty)
    }

    @Test func aClearLoserIsPausedButNeverTheLastActiveArm() {
        var random = SeededRandom(seed: 2)
        let arms = [
            ThompsonBandit.Arm(name: "loser", active: true, sent: 400, converted: 4, hourSent: 100, hourConverted: 1),
            ThompsonBandit.Arm(name: "winner", active: true, sent: 400, converted: 60),
        ]
        let decision = ThompsonBandit.decide(arms, configuration: ThompsonBandit.Configuration(), random: &random)
        #expect(decision.pauses.map(\.index) == [0])
        #expect(decision.pauses[0].reason == "loser converted 4 of 400 (1.0%), 1 of 100 this hour; P(best) 0.000 < 0.005 after at least 150 sends; winner converts 15.0%")
        #expect(decision.allocation[0] == 0)
        #expect(abs(decision.allocation[1] - 1) < 1e-12)
        // Too few sends: not paused, however bad.
        let early = [ThompsonBandit.Arm(name: "loser", active: true, sent: 100, converted: 0), ThompsonBandit.Arm(name: "winner", active: true, sent: 100, converted: 40)]
        #expect(ThompsonBandit.decide(early, configuration: ThompsonBandit.Configuration(), random: &random).pauses.isEmpty)
        // One active arm: kept, with the whole volume.
        let alone = [ThompsonBandit.Arm(name: "only", active: true, sent: 1_000, converted: 0), ThompsonBandit.Arm(name: "gone", active: false, sent: 0, converted: 0)]
        let decisionAlone = ThompsonBandit.decide(alone, configuration: ThompsonBandit.Configuration(), random: &random)
        #expect(decisionAlone.pauses.isEmpty)
        #expect(abs(decisionAlone.allocation[0] - 1) < 1e-12)
        #expect(decisionAlone.allocation[1] == 0)
    }

    @Test func withoutEvidenceTheArmsShareAlike() {
        var random = SeededRandom(seed: 3)
        let arms = (0..<4).map { ThompsonBandit.Arm(name: "\($0)", active: true, sent: 0, converted: 0) }
        let decision = ThompsonBandit.decide(arms, configuration: ThompsonBandit.Configuration(drawCount: 20_000), random: &random)
        for share in decision.allocation { #expect(abs(share - 0.25) < 0.02) }
    }
}
