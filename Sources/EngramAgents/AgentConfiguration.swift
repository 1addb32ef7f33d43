/// How a run of the agents is set up. Owned by whoever starts the run; read-only once it starts.
public struct AgentConfiguration: Sendable {
    /// Every key, episode and record of the run lives in this namespace.
    public var namespace: String
    /// Seeds the generator, the simulated customers, and every agent's random choice.
    public var seed: UInt64
    public var triageCount: Int
    public var engagementCount: Int
    public var optimizationCount: Int
    /// Path of the outbox file the "sent" emails are written to (JSON Lines, appended).
    public var outboxPath: String
    /// An optimizer decides after this many new sends across the active campaigns.
    public var optimizerRoundSends: Int
    /// How often an optimizer reads the summaries to see whether a round is due.
    public var optimizerPollMilliseconds: Int
    /// Engagement merges what it learned into shared memory after this many engaged leads.
    public var learningFlushLeads: Int
    /// Triage reloads (and maybe adjusts) its weights after this many leads.
    public var weightsRefreshLeads: Int
    /// Triage adjusts its weights when this many conversions were observed since the last time.
    public var weightsAdjustConversions: Int
    /// How long engagement uses a policy and template facts before reading them again.
    public var policyRefreshMilliseconds: Int
    /// The share of sends whose template is chosen at random, to keep measuring every template.
    public var templateExplorationShare: Double
    public var bandit: ThompsonBandit.Configuration

    public init(namespace: String = "marketing", seed: UInt64 = 1, triageCount: Int = 2, engagementCount: Int = 2, optimizationCount: Int = 1, outboxPath: String = "outbox.jsonl", optimizerRoundSends: Int = 100, optimizerPollMilliseconds: Int = 100, learningFlushLeads: Int = 50, weightsRefreshLeads: Int = 100, weightsAdjustConversions: Int = 25, policyRefreshMilliseconds: Int = 200, templateExplorationShare: Double = 0.1, bandit: ThompsonBandit.Configuration = ThompsonBandit.Configuration()) {
        self.namespace = namespace
        self.seed = seed
        self.triageCount = triageCount
        self.engagementCount = engagementCount
        self.optimizationCount = optimizationCount
        self.outboxPath = outboxPath
        self.optimizerRoundSends = optimizerRoundSends
        self.optimizerPollMilliseconds = optimizerPollMilliseconds
        self.learningFlushLeads = learningFlushLeads
        self.weightsRefreshLeads = weightsRefreshLeads
        self.weightsAdjustConversions = weightsAdjustConversions
        self.policyRefreshMilliseconds = policyRefreshMilliseconds
        self.templateExplorationShare = templateExplorationShare
        self.bandit = bandit
    }

    /// The reason the configuration cannot run, or nil.
    public func validate() -> String? {
        for (name, count) in [("triage", triageCount), ("engagement", engagementCount), ("optimization", optimizationCount)] {
            guard (1...AgentLimits.instanceCountMax).contains(count) else { return "\(name) instances must be 1 to \(AgentLimits.instanceCountMax), got \(count)" }
        }
        guard optimizerRoundSends > 0, optimizerPollMilliseconds > 0, learningFlushLeads > 0, weightsRefreshLeads > 0, weightsAdjustConversions > 0, policyRefreshMilliseconds >= 0 else {
            return "round sends, poll, flush, refresh and adjust intervals must be positive"
        }
        guard (0...1).contains(templateExplorationShare) else { return "the template exploration share must be 0 to 1" }
        return AgentLimits.validate()
    }
}

/// Every bound the agents add, with its reason. The agents are clients and do not link the storage
/// engine, whose `Limits` bound the server; these bound the client programs.
public enum AgentLimits {
    /// Each instance holds a follow connection or a share of the pool; 64 is far past what one
    /// machine's server needs to show concurrency, and keeps a typo from opening thousands.
    public static let instanceCountMax = 64
    /// An intake file is read whole into memory before triage starts: 1,000,000 leads of a few
    /// hundred bytes each stay well under a gigabyte.
    public static let intakeLeadCountMax = 1_000_000
    /// An intake file larger than this is refused before it is read.
    public static let intakeFileBytesMax = 512 << 20
    /// A request refused as busy (or not executed) is retried at most this many times, with
    /// pauses doubling from 1 ms to 256 ms: about 4 s in all, past any group-commit backlog.
    public static let retryCountMax = 12
    public static let retryDelayMaxMilliseconds = 256
    /// A compare-and-set merge gives up after this many conflicts in a row; instances flush at
    /// different times, so conflicts beyond a few mean something else is wrong.
    public static let compareAndSetAttemptsMax = 64
    /// Leads a triage instance takes from the intake at once and upserts in one lead upsert
    /// batch: enough that a request and a sync serve many leads when the intake runs ahead of
    /// triage, few enough that each lead's knowledge reads and decision stay a small step.
    public static let triageGroupLeadCountMax = 64

    /// Relations between the bounds.
    public static func validate() -> String? {
        guard intakeFileBytesMax >= intakeLeadCountMax else { return "an intake file must hold its lead count" }
        guard 1 << (retryCountMax - 1) >= retryDelayMaxMilliseconds else { return "the retry pauses must reach their cap" }
        // The server's default leadUpsertBatchCountMax.
        guard (1...1_024).contains(triageGroupLeadCountMax) else { return "a triage group must fit one lead upsert batch" }
        return nil
    }
}
