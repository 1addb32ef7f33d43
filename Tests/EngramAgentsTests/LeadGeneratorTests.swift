@testable import EngramAgents
import EngramProtocol
import Testing

struct LeadGeneratorTests {
    @Test func aLeadDependsOnlyOnTheSeedAndItsIndex() {
        let generator = LeadGenerator(seed: 11)
        #expect(generator.lead(123) == LeadGenerator(seed: 11).lead(123))
        #expect(generator.lead(123) != LeadGenerator(seed: 12).lead(123))
        // Out of order is the same as in order.
        let forward = (0..<50).map { generator.lead($0) }
        let backward = (0..<50).reversed().map { generator.lead($0) }.reversed()
        #expect(forward == Array(backward))
    }

    @Test func fiveThousandLeadsHaveUniqueIdsAndEmailsAndARealisticMix() {
        let generator = LeadGenerator(seed: 1)
        let leads = (0..<5_000).map { generator.lead($0) }
        #expect(Set(leads.map(\.email)).count == 5_000)
        #expect(Set(leads.compactMap(\.recordID)).count == 5_000)
        #expect(leads.allSatisfy { $0.email.contains("@") && !$0.name.isEmpty && !$0.company.isEmpty })
        // Companies repeat, so what is learned about one is used again.
        #expect(Set(leads.map(\.companyDomain)).count < 1_000)
        // Sources in their shares, within three standard deviations.
        for (name, share) in LeadGenerator.sources {
            let observed = Double(leads.filter { $0.source == name }.count) / 5_000
            #expect(abs(observed - share) < 3 * (share * (1 - share) / 5_000).squareRoot(), "\(name)")
        }
        let freeMail = leads.filter { $0.email.hasSuffix("gmail.com") || $0.email.hasSuffix("yahoo.com") || $0.email.hasSuffix("outlook.com") || $0.email.hasSuffix("proton.me") }.count
        #expect((400...600).contains(freeMail))
        // Every segment is present.
        let segments = Set(leads.map { Segment(employees: $0.employees) })
        #expect(segments == Set(Segment.allCases))
    }

    @Test func aboutHalfTheGeneratedLeadsQualifyWithTheInitialWeights() {
        let generator = LeadGenerator(seed: 1)
        let scores = (0..<5_000).map { index -> Int in
            let lead = generator.lead(index)
            return TriageRules.score(TriageFeatures(lead: lead, source: nil, company: nil), .initial)
        }
        let qualified = scores.filter { $0 >= TriageRules.qualifiedScoreMin }.count
        #expect((1_500...3_500).contains(qualified), "\(qualified) of 5000 qualified")
        #expect(scores.contains { $0 >= TriageRules.hotScoreMin })
    }

    @Test func aFileLeadWithoutAnIdGetsOneDerivedFromItsEmail() {
        let lead = IntakeLead(email: "Ann@Example.com")
        let same = IntakeLead(email: "ann@example.com")
        #expect(lead.recordID != nil)
        #expect(lead.recordID == same.recordID)
        #expect(IntakeLead(id: "not a uuid", email: "a@b.c").recordID == nil)
        #expect(IntakeLead(id: "00112233-4455-6677-8899-aabbccddeeff", email: "a@b.c").recordID?.description == "00112233-4455-6677-8899-aabbccddeeff")
        #expect(lead.companyDomain == "example.com")
        #expect(IntakeLead(email: "a@b.c", domain: "Acme.Example").companyDomain == "acme.example")
    }
}
