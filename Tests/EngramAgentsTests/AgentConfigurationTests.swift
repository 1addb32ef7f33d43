@testable import EngramAgents
import EngramProtocol
import Testing

struct AgentConfigurationTests {
    @Test func theLimitsHoldTheirRelationsAndTheDefaultsAreValid() {
        #expect(AgentLimits.validate() == nil)
        #expect(AgentConfiguration().validate() == nil)
    }

    @Test func eachBadFieldIsNamed() {
        var configuration = AgentConfiguration()
        configuration.triageCount = 0
        #expect(configuration.validate() == "triage instances must be 1 to 64, got 0")
        configuration = AgentConfiguration()
        configuration.engagementCount = AgentLimits.instanceCountMax + 1
        #expect(configuration.validate() == "engagement instances must be 1 to 64, got 65")
        configuration = AgentConfiguration()
        configuration.optimizerRoundSends = 0
        #expect(configuration.validate() == "round sends, poll, flush, refresh and adjust intervals must be positive")
        configuration = AgentConfiguration()
        configuration.templateExplorationShare = 1.5
        #expect(configuration.validate() == "the template exploration share must be 0 to 1")
    }

    @Test func engagementPartitionsCoverEveryInstanceAndAreStable() {
        var random = SeededRandom(seed: 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<4_000 {
            let lead = FactID(bytes: random.uuidBytes())
            let instance = EngagementAgent.partition(of: lead, instanceCount: 4)
            #expect(instance == EngagementAgent.partition(of: lead, instanceCount: 4))
            counts[instance] += 1
        }
        for count in counts { #expect((850...1_150).contains(count), "\(counts)") }
    }
}
