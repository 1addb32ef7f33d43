@testable import EngramAgents
import Testing

/// The intake's groups (docs/AGENTS.md, "Triage"): each lead handed out once, in index order
/// within a group, at most the group bound, and nothing after the source or the deadline ends.
@Suite struct LeadIntakeTests {
    @Test func groupsTakeEveryDueLeadUpToTheBound() async {
        let generator = LeadGenerator(seed: 7)
        let intake = LeadIntake(.generator(generator, count: 10))
        var groups: [[Int]] = []
        while true {
            let group = await intake.nextGroup(countMax: 4)
            if group.isEmpty { break }
            groups.append(group.map(\.index))
            #expect(group.map(\.lead) == group.map { generator.lead($0.index) })
        }
        #expect(groups == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(await intake.next() == nil, "the source stays exhausted")
    }

    @Test func groupsAndSingleLeadsShareTheIntake() async {
        let intake = LeadIntake(.generator(LeadGenerator(seed: 7), count: 5))
        #expect(await intake.next()?.index == 0)
        #expect(await intake.nextGroup(countMax: 64).map(\.index) == [1, 2, 3, 4])
        #expect(await intake.nextGroup(countMax: 64).isEmpty)
    }

    @Test func aPassedDeadlineHandsOutNothing() async {
        let intake = LeadIntake(.generator(LeadGenerator(seed: 7), count: 5), duration: .zero)
        #expect(await intake.nextGroup(countMax: 4).isEmpty)
    }
}
