import EngramClient
import EngramProtocol
import Synchronization

/// A run of the three agents together against one server: prepares the shared state (campaigns,
/// weights, policy), marks the run's start in the stream, starts every instance, and ends the run
/// in order: when the intake is exhausted and every triage instance finished, it appends the
/// `intake.finished` marker; engagement instances stop at that marker, having seen every decision
/// before it; then the optimizers stop, after one last forced decision that takes in every send.
///
/// Owned by the caller; `run()` once.
public final class AgentSystem: Sendable {
    public let runtime: AgentRuntime
    public let intake: LeadIntake
    public let outbox: Outbox
    private let engagementFinishedCount = Atomic<Int>(0)
    private let started = ContinuousClock.now

    public init(runtime: AgentRuntime, intake: LeadIntake, outbox: Outbox) {
        self.runtime = runtime
        self.intake = intake
        self.outbox = outbox
    }

    /// The run's start marker's body.
    public struct RunStart: Sendable, Codable {
        public var seed: UInt64
        public var leads: Int
        public var triage: Int
        public var engagement: Int
        public var optimization: Int
    }

    /// What a run did, for the final summary and the tests.
    public struct Summary: Sendable {
        /// The position of the run's `run.started` episode: every episode of the run comes after.
        public var startPosition: UInt64
        public var endPosition: UInt64
        public var elapsedSeconds: Double
        public var leadsTriaged: Int
        public var leadsQualified: Int
        public var leadsRejected: Int
        public var emailsSent: Int
        public var opens: Int
        public var clicks: Int
        public var conversions: Int
        public var policyDecisions: Int
        public var campaignsPaused: Int
        public var weightAdjustments: Int
        public var requestCount: Int
        public var latencyMeanMicroseconds: Double
        public var latencyP50Microseconds: Double
        public var latencyP99Microseconds: Double
        public var policy: OptimizerPolicy
        public var summaries: [WireCampaignSummary]
    }

    /// Creates the catalog's campaigns that do not exist yet (active), and the initial weights and
    /// policy when there are none: what earlier runs learned is kept.
    public func prepare() async throws(EngramClientError) {
        let client = runtime.client
        let namespace = runtime.namespace
        for campaign in CampaignCatalog.campaigns {
            let existing = try await runtime.call { () async throws(EngramClientError) in try await client.campaignGet(namespace: namespace, id: campaign.id) }
            if existing != nil { continue }
            let record = WireCampaign(id: campaign.id, name: campaign.name, type: campaign.type, status: .active, budgetCents: campaign.budgetCents)
            _ = try await runtime.call { () async throws(EngramClientError) in try await client.campaignUpsert(namespace: namespace, campaign: record) }
        }
        _ = try await runtime.store(TriageWeights.initial, key: AgentKey.triageWeights, expectedVersion: 0)
        _ = try await runtime.store(OptimizerPolicy.uniform, key: AgentKey.optimizerPolicy, expectedVersion: 0)
    }

    public func run() async throws -> Summary {
        let configuration = runtime.configuration
        try await prepare()
        let start = RunStart(seed: configuration.seed, leads: intake.count, triage: configuration.triageCount, engagement: configuration.engagementCount, optimization: configuration.optimizationCount)
        let startPosition = try await runtime.append([WireNewEpisode(agent: "agents", kind: EpisodeKind.runStarted, body: AgentRuntime.encode(start))])[0].position
        try await withThrowingTaskGroup(of: Void.self) { group in
            for instance in 0..<configuration.engagementCount {
                let agent = EngagementAgent(runtime: runtime, instance: instance, outbox: outbox)
                group.addTask {
                    try await agent.run(from: startPosition)
                    self.engagementFinishedCount.wrappingAdd(1, ordering: .relaxed)
                }
            }
            for instance in 0..<configuration.optimizationCount {
                let agent = OptimizationAgent(runtime: runtime, instance: instance)
                group.addTask {
                    try await agent.run { self.engagementFinishedCount.load(ordering: .relaxed) == configuration.engagementCount }
                }
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { triage in
                    for instance in 0..<configuration.triageCount {
                        let agent = TriageAgent(runtime: self.runtime, instance: instance, intake: self.intake)
                        triage.addTask { try await agent.run() }
                    }
                    try await triage.waitForAll()
                }
                try await self.runtime.append([WireNewEpisode(agent: "agents", kind: EpisodeKind.intakeFinished, body: Array("{}".utf8))])
            }
            try await group.waitForAll()
        }
        // The last decision takes in every send of the run.
        _ = try await OptimizationAgent(runtime: runtime, instance: 0).round(force: true)
        try outbox.close()
        var summary = try await summarize(startPosition: startPosition)
        let endPosition = try await runtime.append([WireNewEpisode(agent: "agents", kind: EpisodeKind.runFinished, body: AgentRuntime.encode(RunEnd(summary)))])[0].position
        summary.endPosition = endPosition
        return summary
    }

    /// The catalog's campaigns with their summaries, and the current policy.
    public func campaignSummaries() async throws(EngramClientError) -> [WireCampaignSummary] {
        let client = runtime.client
        let namespace = runtime.namespace
        var summaries: [WireCampaignSummary] = []
        for campaign in CampaignCatalog.campaigns {
            if let summary = try await runtime.call({ () async throws(EngramClientError) in try await client.campaignSummary(namespace: namespace, id: campaign.id) }) { summaries.append(summary) }
        }
        return summaries
    }

    func summarize(startPosition: UInt64) async throws(EngramClientError) -> Summary {
        let statistics = runtime.statistics
        let policy = try await runtime.load(OptimizerPolicy.self, key: AgentKey.optimizerPolicy)?.value ?? .uniform
        return Summary(
            startPosition: startPosition, endPosition: 0, elapsedSeconds: elapsedSeconds,
            leadsTriaged: statistics.leadsTriaged.value, leadsQualified: statistics.leadsQualified.value,
            leadsRejected: statistics.leadsRejected.value, emailsSent: statistics.emailsSent.value,
            opens: statistics.opens.value, clicks: statistics.clicks.value,
            conversions: statistics.conversions.value, policyDecisions: statistics.policyDecisions.value,
            campaignsPaused: statistics.campaignsPaused.value, weightAdjustments: statistics.weightAdjustments.value,
            requestCount: statistics.latency.count, latencyMeanMicroseconds: statistics.latency.meanMicroseconds,
            latencyP50Microseconds: statistics.latency.percentileMicroseconds(0.5), latencyP99Microseconds: statistics.latency.percentileMicroseconds(0.99),
            policy: policy, summaries: try await campaignSummaries())
    }

    public var elapsedSeconds: Double {
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// The body of the `run.finished` episode.
struct RunEnd: Codable {
    var elapsedSeconds: Double
    var leadsTriaged: Int
    var leadsQualified: Int
    var emailsSent: Int
    var conversions: Int
    var policyDecisions: Int

    init(_ summary: AgentSystem.Summary) {
        elapsedSeconds = summary.elapsedSeconds
        leadsTriaged = summary.leadsTriaged
        leadsQualified = summary.leadsQualified
        emailsSent = summary.emailsSent
        conversions = summary.conversions
        policyDecisions = summary.policyDecisions
    }
}
