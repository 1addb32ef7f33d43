#if canImport(Glibc)
import Glibc
#endif
import EngramAgents
import EngramClient
import EngramProtocol
import FoundationEssentials
import Testing

/// The three agents through a real `engramd` on the generated intake: every lead triaged exactly
/// once (one decision, one upsert), every qualified lead engaged exactly once, the campaign summaries equal to the metric
/// events, the optimizer's decisions recorded and its allocation moved to the campaign that
/// converts best. 5,000 leads (the target's hourly volume) by default;
/// `ENGRAM_AGENTS_LEADS=N` runs another count (docs/AGENTS.md, "Tests").
@Suite(.serialized) struct AgentsEndToEndTests {
    let namespace = "e2e"

    var leadCount: Int {
        getenv("ENGRAM_AGENTS_LEADS").flatMap { Int(String(cString: $0)) } ?? 5_000
    }

    @Test func theGeneratedIntakeThroughAllThreeAgents() async throws {
        let directory = TemporaryDirectory("engram-agents")
        defer { directory.remove() }
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration(connections: 4))
            defer { Task { await client.close() } }
            let configuration = AgentConfiguration(namespace: namespace, seed: 1, triageCount: 8, engagementCount: 4, optimizationCount: 2, outboxPath: directory.path + "/outbox.jsonl")
            let runtime = AgentRuntime(client: client, configuration: configuration)
            let generator = LeadGenerator(seed: 1)
            let system = AgentSystem(runtime: runtime, intake: LeadIntake(.generator(generator, count: leadCount)), outbox: try Outbox(path: configuration.outboxPath))
            let summary = try await system.run()
            print("agents end to end: \(leadCount) leads in \(summary.elapsedSeconds) s, \(summary.emailsSent) sent, \(summary.conversions) converted, \(summary.policyDecisions) decisions, p50 \(summary.latencyP50Microseconds) us p99 \(summary.latencyP99Microseconds) us")

            let episodes = try await scan(client, from: summary.startPosition)
            let byKind = Dictionary(grouping: episodes, by: \.kind)
            let ids = (0..<leadCount).map { generator.lead($0).recordID! }

            // Every lead triaged exactly once: one decision each, one upsert each.
            let decisions = byKind[EpisodeKind.leadTriaged] ?? []
            #expect(decisions.count == leadCount)
            #expect(Set(decisions.compactMap(\.lead)) == Set(ids))
            #expect(summary.leadsTriaged == leadCount)
            #expect(summary.leadsRejected == 0)
            let decoder = JSONDecoder()
            let decided = try decisions.map { try decoder.decode(TriageDecision.self, from: Data($0.body)) }
            let qualified = Set(decided.filter(\.qualified).map(\.lead))
            #expect(qualified.count == summary.leadsQualified)
            #expect(qualified.count > leadCount / 4 && qualified.count < leadCount * 3 / 4)
            for index in stride(from: 0, to: leadCount, by: max(1, leadCount / 200)) {
                let stored = try #require(try await client.leadGet(namespace: namespace, id: ids[index]))
                // Versions are store-wide; one upsert leaves the update time at the creation time.
                #expect(stored.updatedAtMicroseconds == stored.createdAtMicroseconds, "lead \(index) was upserted again")
                let decision = decided.first { $0.lead == ids[index].description }!
                #expect(Int(stored.score) == decision.score)
                #expect(stored.status == (decision.qualified ? "qualified" : "disqualified"))
                #expect(stored.category == decision.category)
            }
            let qualifiedRecords = try await leads(client, status: "qualified")
            #expect(Set(qualifiedRecords.map(\.id.description)) == qualified)
            #expect(qualifiedRecords.allSatisfy { $0.updatedAtMicroseconds == $0.createdAtMicroseconds })

            // Every qualified lead engaged exactly once, and no other lead.
            let sent = byKind[EpisodeKind.emailSent] ?? []
            #expect(sent.count == qualified.count)
            #expect(Set(sent.compactMap { $0.lead?.description }) == qualified)
            #expect(summary.emailsSent == qualified.count)
            let outboxLines = try readLines(configuration.outboxPath)
            #expect(outboxLines.count == qualified.count)
            #expect(Set(try outboxLines.map { try decoder.decode(Outbox.Message.self, from: Data($0.utf8)).lead }) == qualified)

            // The summaries equal the metric events, and the events equal the episodes.
            var expected: [WireUUID: WireTotals] = [:]
            for (kind, keyPath) in [(EpisodeKind.emailSent, \WireTotals.sent), (EpisodeKind.emailOpened, \.opened), (EpisodeKind.emailClicked, \.clicked), (EpisodeKind.leadConverted, \.converted)] {
                for episode in byKind[kind] ?? [] {
                    let campaign = try #require(episode.campaign)
                    expected[campaign, default: WireTotals()][keyPath: keyPath] += 1
                    if kind == EpisodeKind.emailSent { expected[campaign, default: WireTotals()].eventCount += 1 }
                }
            }
            #expect(summary.summaries.count == CampaignCatalog.campaigns.count)
            for campaignSummary in summary.summaries {
                let totals = expected[campaignSummary.campaign.id] ?? WireTotals()
                #expect(campaignSummary.totals == totals, "\(campaignSummary.campaign.name)")
                let hourly = try await client.campaignHourly(namespace: namespace, id: campaignSummary.campaign.id).buckets
                let hourlySum = hourly.reduce(WireTotals()) { sum, bucket in
                    WireTotals(eventCount: sum.eventCount + bucket.totals.eventCount, sent: sum.sent + bucket.totals.sent, opened: sum.opened + bucket.totals.opened, clicked: sum.clicked + bucket.totals.clicked, converted: sum.converted + bucket.totals.converted)
                }
                #expect(hourlySum == totals, "\(campaignSummary.campaign.name) hourly")
            }
            #expect(summary.summaries.reduce(0) { $0 + Int($1.totals.converted) } == summary.conversions)

            // The optimizer's decisions are recorded, each with its reason; the last is the policy.
            let policies = try (byKind[EpisodeKind.policyDecided] ?? []).map { try decoder.decode(OptimizerPolicy.self, from: Data($0.body)) }
            #expect(policies.count == summary.policyDecisions)
            #expect(policies.count >= 5)
            #expect(policies.map(\.round) == Array(1...policies.count))
            #expect(policies.allSatisfy { $0.reason.hasPrefix("Thompson sampling") })
            #expect(policies.last == summary.policy)
            let pauses = byKind[EpisodeKind.campaignPaused] ?? []
            #expect(pauses.count == summary.campaignsPaused)
            for pause in pauses {
                let campaignID = try #require(pause.campaign)
                let campaign = try #require(try await client.campaignGet(namespace: namespace, id: campaignID))
                #expect(campaign.status == .paused)
            }

            // The allocation moved toward Free Trial, the best simulated campaign.
            let best = CampaignCatalog.campaigns.firstIndex { $0.name == "Free Trial" }!
            let allocation = summary.policy.allocation
            #expect(allocation.indices.max { allocation[$0] < allocation[$1] } == best, "\(allocation)")
            #expect(allocation[best] > 0.5, "\(allocation)")
            let firstHalf = sent.prefix(sent.count / 2).filter { $0.campaign == CampaignCatalog.campaigns[best].id }.count
            let secondHalf = sent.suffix(sent.count / 2).filter { $0.campaign == CampaignCatalog.campaigns[best].id }.count
            #expect(secondHalf > firstHalf)

            // What the agents learned is in shared memory.
            let weights = try #require(try await client.get(namespace: namespace, key: Array(AgentKey.triageWeights.utf8)))
            let storedWeights = try decoder.decode(TriageWeights.self, from: Data(weights.value))
            #expect(storedWeights.adjustmentCount == summary.weightAdjustments)
            #expect((byKind[EpisodeKind.weightsAdjusted] ?? []).count == summary.weightAdjustments)
            let features = try #require(try await client.get(namespace: namespace, key: Array(AgentKey.featureStatistics.utf8)))
            let learned = try decoder.decode(FeatureStatistics.self, from: Data(features.value))
            #expect(learned.engaged == qualified.count)
            #expect(learned.converted == summary.conversions)
            for segment in Segment.allCases {
                let fact = try #require(try await client.semanticGet(namespace: namespace, id: TemplateFact.id(segment)))
                #expect(fact.fact.tags.contains("segment:" + segment.rawValue))
            }
            for instance in 1...8 {
                #expect(try await client.shortTermGet(namespace: namespace, key: Array(AgentKey.workingContext("triage-\(instance)").utf8)) != nil)
            }
            #expect((byKind[EpisodeKind.intakeFinished] ?? []).count == 1)
            #expect(summary.endPosition == episodes.last!.position)
        }
    }

    /// The whole stream from `position` on.
    func scan(_ client: EngramClient, from position: UInt64) async throws -> [WireEpisode] {
        var episodes: [WireEpisode] = []
        var next = position
        while true {
            let page = try await client.scanEpisodes(namespace: namespace, from: next, limit: 1_000)
            episodes += page.episodes
            next = page.nextPosition
            if page.isAtEnd || page.episodes.isEmpty { return episodes }
        }
    }

    func leads(_ client: EngramClient, status: String) async throws -> [WireLead] {
        var leads: [WireLead] = []
        var cursor: [UInt8]? = nil
        repeat {
            let page = try await client.leadQuery(namespace: namespace, WireLeadQuery(status: status, limit: 1_000, cursor: cursor))
            leads += page.leads
            cursor = page.cursor
        } while cursor != nil
        return leads
    }

    func readLines(_ path: String) throws -> [String] {
        guard let file = fopen(path, "r") else { throw TestFailure("cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[0..<count]
            if count < chunk.count { break }
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
