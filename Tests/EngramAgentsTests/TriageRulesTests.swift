@testable import EngramAgents
import Testing

struct TriageRulesTests {
    let cmo = IntakeLead(email: "ann@acme.example", title: "CMO", employees: 1_500, source: "referral", pageViews: 14, pricingPageViews: 2, downloads: 1, demoRequested: true)

    @Test func eachFeatureFollowsItsStatedRule() {
        let features = TriageFeatures(lead: cmo, source: nil, company: nil)
        #expect(features == TriageFeatures(seniority: 1, companySize: 1, intent: 1, activity: 1, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0))
        #expect(TriageFeatures.seniority(title: "VP Sales") == 0.8)
        #expect(TriageFeatures.seniority(title: "Vice President, Marketing") == 0.8)
        #expect(TriageFeatures.seniority(title: "Head of Growth") == 0.6)
        #expect(TriageFeatures.seniority(title: "Engineering Manager") == 0.4)
        #expect(TriageFeatures.seniority(title: "Analyst") == 0.1)
        let small = IntakeLead(email: "x@gmail.com", employees: 49, pageViews: 3, downloads: 1)
        let smallFeatures = TriageFeatures(lead: small, source: Knowledge(engaged: 50, converted: 9), company: Knowledge(engaged: 3, converted: 0))
        #expect(smallFeatures.companySize == 0.15)
        #expect(smallFeatures.intent == 0.3)
        #expect(smallFeatures.activity == 0.3)
        #expect(smallFeatures.freeMail == 1)
        #expect(smallFeatures.companyHistory == 0.2)
        // (9 + 0.06 * 50) / (50 + 50) = 0.12, over twice the prior 0.12: 1.
        #expect(abs(smallFeatures.sourceQuality - 1) < 1e-12)
        #expect(TriageFeatures(lead: small, source: Knowledge(engaged: 50, converted: 0), company: Knowledge(engaged: 1, converted: 1)).sourceQuality == 0.25)
        #expect(TriageFeatures(lead: small, source: nil, company: Knowledge(engaged: 1, converted: 1)).companyHistory == 1)
    }

    @Test func theScoreIsTheWeightedSumLessThePenaltyClamped() {
        let features = TriageFeatures(lead: cmo, source: nil, company: nil)
        // 0.20 + 0.15 + 0.30 + 0.10 + 0.15 * 0.5 + 0.10 * 0.4 = 0.865
        #expect(TriageRules.score(features, .initial) == 87)
        var freeMail = features
        freeMail.freeMail = 1
        #expect(TriageRules.score(freeMail, .initial) == 72)
        let nothing = TriageFeatures(seniority: 0, companySize: 0, intent: 0, activity: 0, sourceQuality: 0, companyHistory: 0, freeMail: 1)
        #expect(TriageRules.score(nothing, .initial) == 0)
    }

    @Test func categoriesAndRoutesFollowTheTables() {
        #expect(TriageRules.category(score: 70) == "hot")
        #expect(TriageRules.category(score: 69) == "warm")
        #expect(TriageRules.category(score: 45) == "warm")
        #expect(TriageRules.category(score: 44) == "cold")
        #expect(TriageRules.route(category: "hot", segment: .enterprise) == "sales/enterprise")
        #expect(TriageRules.route(category: "hot", segment: .smb) == "sales/inside")
        #expect(TriageRules.route(category: "warm", segment: .midmarket) == "nurture/midmarket")
        #expect(TriageRules.route(category: "cold", segment: .enterprise) == "archive")
        let decision = TriageRules.decide(cmo, id: "id", features: TriageFeatures(lead: cmo, source: nil, company: nil), weights: .initial)
        #expect(decision.score == 87)
        #expect(decision.category == "hot")
        #expect(decision.route == "sales/enterprise")
        #expect(decision.qualified)
        #expect(decision.segment == .enterprise)
        #expect(decision.domain == "acme.example")
    }

    @Test func weightsLearnFromLiftsWithinTheirBounds() throws {
        var statistics = FeatureStatistics()
        let high = TriageFeatures(seniority: 1, companySize: 0.4, intent: 1, activity: 0.5, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0)
        let low = TriageFeatures(seniority: 0.1, companySize: 0.4, intent: 0, activity: 0.5, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0)
        for _ in 0..<30 { statistics.add(high, converted: true) }
        for _ in 0..<30 { statistics.add(high, converted: false) }
        for _ in 0..<60 { statistics.add(low, converted: false) }
        #expect(statistics.engaged == 120)
        #expect(statistics.converted == 30)
        let lifts = statistics.lifts
        // Seniority: converters' mean 1, everyone's (60 + 6) / 120 = 0.55.
        #expect(abs(lifts[0] - 1 / 0.55) < 1e-9)
        // Intent: 1 over 0.5: 2.
        #expect(abs(lifts[2] - 2) < 1e-9)
        #expect(abs(lifts[1] - 1) < 1e-9)
        let adjusted = try #require(WeightLearning.adjust(.initial, from: statistics))
        #expect(adjusted.adjustmentCount == 1)
        #expect(adjusted.basedOnConversions == 30)
        #expect(abs(adjusted.weights.reduce(0, +) - 1) < 0.001)
        // Raw: 0.2 * 1.818, 0.15, 0.3 * 2, 0.1, 0.15, 0.1 = 1.4636; intent 0.6 / 1.4636 = 0.40994.
        #expect(adjusted.weights[2] == 0.4099)
        #expect(adjusted.weights[2] > TriageWeights.initial.weights[2])
        #expect(adjusted.weights[3] < TriageWeights.initial.weights[3])

        var few = FeatureStatistics()
        for _ in 0..<(WeightLearning.conversionsMin - 1) { few.add(high, converted: true) }
        #expect(WeightLearning.adjust(.initial, from: few) == nil)
        #expect(WeightLearning.reason(adjusted, from: statistics).hasPrefix("from 30 conversions of 120 engaged leads: seniority lift 1.82 weight 0.25"))
    }

    @Test func aLiftIsHeldToItsBounds() throws {
        var statistics = FeatureStatistics()
        let converter = TriageFeatures(seniority: 1, companySize: 0, intent: 1, activity: 0, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0)
        let other = TriageFeatures(seniority: 0, companySize: 1, intent: 0, activity: 1, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0)
        for _ in 0..<20 { statistics.add(converter, converted: true) }
        for _ in 0..<980 { statistics.add(other, converted: false) }
        let adjusted = try #require(WeightLearning.adjust(.initial, from: statistics))
        // Seniority lift is 50, held to 2; company size lift is 0, held to 0.5.
        let raw = [0.4, 0.075, 0.6, 0.05, 0.15, 0.1]
        let total = raw.reduce(0, +)
        #expect(adjusted.weights == raw.map { ($0 / total * 10_000).rounded() / 10_000 })
    }

    @Test func featureStatisticsMergeIsTheSumOfTheParts() {
        let features = TriageFeatures(seniority: 0.6, companySize: 0.7, intent: 0.3, activity: 0.2, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0)
        var whole = FeatureStatistics()
        var left = FeatureStatistics()
        var right = FeatureStatistics()
        for index in 0..<10 {
            whole.add(features, converted: index % 3 == 0)
            if index < 4 { left.add(features, converted: index % 3 == 0) } else { right.add(features, converted: index % 3 == 0) }
        }
        left.merge(right)
        #expect(left.engaged == whole.engaged)
        #expect(left.converted == whole.converted)
        for index in whole.sums.indices {
            #expect(abs(left.sums[index] - whole.sums[index]) < 1e-9)
            #expect(abs(left.convertedSums[index] - whole.convertedSums[index]) < 1e-9)
        }
    }
}
