import EngramClient
import EngramProtocol

/// One engagement instance: follows the triage stream and takes the decisions of its share of the
/// leads (a lead belongs to instance `hash(lead id) mod engagementCount`, so each lead is engaged
/// by exactly one instance). For each qualified lead it picks a campaign by the optimizer's
/// current allocation and a template by what semantic memory says works for the lead's segment,
/// "sends" the email to the outbox, lets the simulated customer answer, and records the answer as
/// a campaign metric event and as episodes. Every `learningFlushLeads` leads it merges what it
/// learned into shared memory (conversions by feature, by source and company, clicks by template)
/// and saves where its follow would resume.
///
/// It stops at the run's `intake.finished` marker, which the run appends after every triage
/// decision has committed, so every decision comes before it in the stream.
public struct EngagementAgent: Sendable {
    public let runtime: AgentRuntime
    public let instance: Int
    public let outbox: Outbox
    public let population: CustomerPopulation

    public init(runtime: AgentRuntime, instance: Int, outbox: Outbox) {
        self.runtime = runtime
        self.instance = instance
        self.outbox = outbox
        self.population = CustomerPopulation(seed: runtime.configuration.seed)
    }

    public var name: String { "engagement-\(instance + 1)" }

    /// The instance a lead belongs to.
    public static func partition(of lead: WireUUID, instanceCount: Int) -> Int {
        var key: UInt64 = 0
        for byte in lead.bytes.prefix(8) { key = key << 8 | UInt64(byte) }
        return Int(SeededRandom.mix(key) % UInt64(instanceCount))
    }

    static func leadKey(_ lead: WireUUID) -> UInt64 {
        lead.bytes.reduce(UInt64(0xE4)) { SeededRandom.mix($0 ^ UInt64($1)) }
    }

    /// Follows from `position` until the run's end marker.
    public func run(from position: UInt64) async throws {
        var iterator = runtime.client.follow(namespace: runtime.namespace, from: position, kinds: [EpisodeKind.leadTriaged, EpisodeKind.intakeFinished]).makeAsyncIterator()
        var learning = EngagementLearning()
        var view = try await SharedView.load(runtime)
        while let episode = try await iterator.next() {
            if episode.kind == EpisodeKind.intakeFinished { break }
            guard let lead = episode.lead, Self.partition(of: lead, instanceCount: runtime.configuration.engagementCount) == instance else { continue }
            runtime.statistics.leadsSeenByEngagement.add()
            let decision = try AgentRuntime.decode(TriageDecision.self, episode.body, what: "the decision at position \(episode.position)")
            guard decision.qualified else { continue }
            if view.isStale(after: runtime.configuration.policyRefreshMilliseconds) { view = try await SharedView.load(runtime) }
            try await engage(decision, lead: lead, view: view, learning: &learning)
            if learning.leadCount >= runtime.configuration.learningFlushLeads {
                try await learning.flush(runtime, agent: name, position: iterator.position)
            }
        }
        try await learning.flush(runtime, agent: name, position: iterator.position)
    }

    func engage(_ decision: TriageDecision, lead: WireUUID, view: SharedView, learning: inout EngagementLearning) async throws {
        let leadKey = Self.leadKey(lead)
        var random = SeededRandom(mixing: runtime.configuration.seed, leadKey, 0xE1)
        let campaignIndex = random.pick(weights: view.policy.allocation) ?? 0
        let template = view.template(for: decision.segment, explorationShare: runtime.configuration.templateExplorationShare, random: &random)
        let campaign = CampaignCatalog.campaigns[campaignIndex]
        let response = population.respond(leadKey: leadKey, campaign: campaignIndex, template: template, segment: decision.segment, features: decision.features)
        let now = AgentRuntime.nowMicroseconds()
        try outbox.write(Outbox.Message(time: now, agent: name, lead: decision.lead, to: decision.email, campaign: campaign.name, template: CampaignCatalog.templates[template].name, subject: CampaignCatalog.templates[template].subject))

        let event = WireMetricEvent(campaignID: campaign.id, timeMicroseconds: now, sent: 1, opened: response.opened ? 1 : 0, clicked: response.clicked ? 1 : 0, converted: response.converted ? 1 : 0)
        let record = EngagementRecord(campaign: campaign.name, template: CampaignCatalog.templates[template].name, segment: decision.segment, response: response)
        let body = AgentRuntime.encode(record)
        var kinds = [EpisodeKind.emailSent]
        if response.opened { kinds.append(EpisodeKind.emailOpened) }
        if response.clicked { kinds.append(EpisodeKind.emailClicked) }
        if response.converted { kinds.append(EpisodeKind.leadConverted) }
        let episodes = kinds.map { WireNewEpisode(agent: name, kind: $0, lead: lead, campaign: campaign.id, body: body) }
        let client = runtime.client
        let namespace = runtime.namespace
        // The metric event, the episodes and the working context are independent: sent together,
        // they share one group commit instead of waiting for three.
        async let metric = runtime.call { () async throws(EngramClientError) in try await client.metricAppend(namespace: namespace, events: [event]) }
        async let appended = runtime.append(episodes)
        async let remembered: Void = runtime.remember(record, agent: name)
        _ = try await (metric, appended, remembered)

        learning.add(decision, template: template, response: response)
        let statistics = runtime.statistics
        statistics.emailsSent.add()
        statistics.sentByCampaign[campaignIndex].add()
        if response.opened { statistics.opens.add() }
        if response.clicked { statistics.clicks.add() }
        if response.converted { statistics.conversions.add() }
    }
}

/// The body of engagement's episodes: what was sent to whom and how they answered.
public struct EngagementRecord: Sendable, Hashable, Codable {
    public var campaign: String
    public var template: String
    public var segment: Segment
    public var response: CustomerPopulation.Response
}
