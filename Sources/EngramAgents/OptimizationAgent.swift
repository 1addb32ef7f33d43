import EngramClient
import EngramProtocol

/// The optimizer's current policy, kept in long-term memory at `optimizer/policy` and appended
/// with each decision as an `optimizer.policy` episode. Arrays are indexed like
/// `CampaignCatalog.campaigns`.
public struct OptimizerPolicy: Sendable, Hashable, Codable {
    /// 0 for the initial uniform policy; each decision adds one.
    public var round: Int
    public var campaigns: [String]
    /// The share of sends per campaign; sums to 1; 0 for paused campaigns.
    public var allocation: [Double]
    public var active: [Bool]
    public var probabilityBest: [Double]
    /// Each campaign's sends when the decision was taken: the next round is due once the active
    /// campaigns have `optimizerRoundSends` more.
    public var sentAtDecision: [UInt64]
    public var reason: String

    public static let uniform: OptimizerPolicy = {
        let count = CampaignCatalog.campaigns.count
        return OptimizerPolicy(round: 0, campaigns: CampaignCatalog.campaigns.map(\.name), allocation: Array(repeating: 1 / Double(count), count: count), active: Array(repeating: true, count: count), probabilityBest: Array(repeating: 1 / Double(count), count: count), sentAtDecision: Array(repeating: 0, count: count), reason: "initial: every campaign gets the same share until there is evidence")
    }()
}

/// The body of a `campaign.paused` episode.
public struct PauseRecord: Sendable, Codable {
    public var campaign: String
    public var round: Int
    public var reason: String
}

/// One optimization instance: polls the live campaign summaries, and when the active campaigns
/// have had `optimizerRoundSends` sends since the last decision, reads each one's current hourly
/// bucket, decides a new allocation by Thompson sampling, and writes it by compare-and-set on the
/// policy's version, so of several instances polling at once exactly one takes each round. The
/// winner then pauses the campaigns the bandit gave up on and appends the decision and each pause
/// with its reason.
public struct OptimizationAgent: Sendable {
    public let runtime: AgentRuntime
    public let instance: Int

    public init(runtime: AgentRuntime, instance: Int) {
        self.runtime = runtime
        self.instance = instance
    }

    public var name: String { "optimization-\(instance + 1)" }

    /// Polls until `shouldStop` says so or the task is cancelled.
    public func run(until shouldStop: @Sendable () -> Bool) async throws(EngramClientError) {
        while !shouldStop() && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(runtime.configuration.optimizerPollMilliseconds))
            _ = try await round(force: false)
        }
    }

    /// Takes a decision if one is due (or `force`); returns the policy it wrote, or nil when no
    /// decision was due or another instance took this round.
    @discardableResult
    public func round(force: Bool) async throws(EngramClientError) -> OptimizerPolicy? {
        let client = runtime.client
        let namespace = runtime.namespace
        let stored = try await runtime.load(OptimizerPolicy.self, key: AgentKey.optimizerPolicy)
        let policy = stored?.value ?? .uniform
        var summaries: [WireUUID: WireCampaignSummary] = [:]
        var cursor: WireCampaignCursor? = nil
        repeat {
            let page = try await runtime.call { () async throws(EngramClientError) in try await client.activeCampaignSummaries(namespace: namespace, after: cursor, limit: 100) }
            for summary in page.summaries { summaries[summary.campaign.id] = summary }
            cursor = page.next
        } while cursor != nil
        let catalog = CampaignCatalog.campaigns
        let sent = catalog.map { summaries[$0.id]?.totals.sent ?? 0 }
        let newSends = catalog.indices.filter { summaries[catalog[$0].id] != nil }.reduce(UInt64(0)) { $0 + (sent[$1] - Swift.min(policy.sentAtDecision[$1], sent[$1])) }
        guard force || newSends >= UInt64(runtime.configuration.optimizerRoundSends) else { return nil }

        let hourStart = AgentRuntime.nowMicroseconds() / 3_600_000_000 * 3_600_000_000
        var arms: [ThompsonBandit.Arm] = []
        for campaign in catalog {
            guard let summary = summaries[campaign.id] else {
                arms.append(ThompsonBandit.Arm(name: campaign.name, active: false, sent: 0, converted: 0))
                continue
            }
            let hour = try await runtime.call { () async throws(EngramClientError) in try await client.campaignHourly(namespace: namespace, id: campaign.id, fromMicroseconds: hourStart, limit: 1) }.buckets.first?.totals ?? WireTotals()
            arms.append(ThompsonBandit.Arm(name: campaign.name, active: true, sent: summary.totals.sent, converted: summary.totals.converted, hourSent: hour.sent, hourConverted: hour.converted))
        }
        var random = SeededRandom(mixing: runtime.configuration.seed, 0x0B7, UInt64(policy.round + 1))
        let decision = ThompsonBandit.decide(arms, configuration: runtime.configuration.bandit, random: &random)
        var active = arms.map(\.active)
        for pause in decision.pauses { active[pause.index] = false }
        let next = OptimizerPolicy(round: policy.round + 1, campaigns: catalog.map(\.name), allocation: decision.allocation, active: active, probabilityBest: decision.probabilityBest, sentAtDecision: sent, reason: decision.reason)
        guard try await runtime.store(next, key: AgentKey.optimizerPolicy, expectedVersion: stored?.version ?? 0) else { return nil }

        var episodes = [WireNewEpisode(agent: name, kind: EpisodeKind.policyDecided, body: AgentRuntime.encode(next))]
        for pause in decision.pauses {
            guard var campaign = summaries[catalog[pause.index].id]?.campaign else { continue }
            campaign.status = .paused
            campaign.version = 0
            campaign.updatedAtMicroseconds = 0
            campaign.createdAtMicroseconds = WireLead.createdAtUnset
            let paused = campaign
            _ = try await runtime.call { () async throws(EngramClientError) in try await client.campaignUpsert(namespace: namespace, campaign: paused) }
            episodes.append(WireNewEpisode(agent: name, kind: EpisodeKind.campaignPaused, campaign: paused.id, body: AgentRuntime.encode(PauseRecord(campaign: paused.name, round: next.round, reason: pause.reason))))
            runtime.statistics.campaignsPaused.add()
        }
        try await runtime.append(episodes)
        runtime.statistics.policyDecisions.add()
        return next
    }
}
