@testable import EngramAgents
import Testing

struct CustomerPopulationTests {
    let features = TriageFeatures(seniority: 0.6, companySize: 0.7, intent: 0.6, activity: 0.5, sourceQuality: 0.5, companyHistory: 0.4, freeMail: 0)

    @Test func answersAreDeterministicAndConsistent() {
        let population = CustomerPopulation(seed: 4)
        for lead in 0..<2_000 as Range<UInt64> {
            let response = population.respond(leadKey: lead, campaign: Int(lead % 4), template: Int(lead % 3), segment: .midmarket, features: features)
            #expect(response == CustomerPopulation(seed: 4).respond(leadKey: lead, campaign: Int(lead % 4), template: Int(lead % 3), segment: .midmarket, features: features))
            if response.converted { #expect(response.clicked) }
            if response.clicked { #expect(response.opened) }
        }
    }

    @Test func observedConversionMatchesTheModelAndFreeTrialIsBest() {
        let population = CustomerPopulation(seed: 8)
        let count = 20_000
        for campaign in 0..<4 {
            let converted = (0..<count).filter { population.respond(leadKey: UInt64($0), campaign: campaign, template: 0, segment: .smb, features: features).converted }.count
            let expected = population.conversionProbability(campaign: campaign, segment: .smb, features: features)
            let tolerance = 4 * (expected * (1 - expected) / Double(count)).squareRoot()
            #expect(abs(Double(converted) / Double(count) - expected) < tolerance, "campaign \(campaign)")
        }
        // Over the generator's qualified leads, Free Trial (index 3) converts best.
        let generator = LeadGenerator(seed: 1)
        let qualified = (0..<3_000).compactMap { index -> (segment: Segment, features: TriageFeatures)? in
            let lead = generator.lead(index)
            let leadFeatures = TriageFeatures(lead: lead, source: nil, company: nil)
            guard TriageRules.score(leadFeatures, .initial) >= TriageRules.qualifiedScoreMin else { return nil }
            return (Segment(employees: lead.employees), leadFeatures)
        }
        let rates = population.expectedConversionRates(over: qualified)
        #expect(rates.indices.max { rates[$0] < rates[$1] } == 3)
        #expect(rates[3] > 1.5 * rates.dropLast().max()!, "\(rates)")
    }

    @Test func enterpriseLeadsPreferTheCaseStudy() {
        let population = CustomerPopulation(seed: 1)
        let rates = (0..<4).map { population.conversionProbability(campaign: $0, segment: .enterprise, features: features) }
        #expect(rates.indices.max { rates[$0] < rates[$1] } == 2)
    }
}
