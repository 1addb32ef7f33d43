import EngramClient
import EngramProtocol

/// Sends and clicks per template within one segment (long-term `learn/templates/SEGMENT`, and the
/// body of the segment's semantic fact).
public struct TemplateStatistics: Sendable, Hashable, Codable {
    public var sent: [Int] = Array(repeating: 0, count: CampaignCatalog.templates.count)
    public var clicked: [Int] = Array(repeating: 0, count: CampaignCatalog.templates.count)

    public init() {}

    public mutating func merge(_ other: TemplateStatistics) {
        for index in sent.indices {
            sent[index] += other.sent[index]
            clicked[index] += other.clicked[index]
        }
    }

    /// Click rates smoothed toward one half by one click in two sends, so an unseen template is
    /// tried rather than written off.
    public var clickRates: [Double] {
        sent.indices.map { (Double(clicked[$0]) + 1) / (Double(sent[$0]) + 2) }
    }

    public var best: Int {
        let rates = clickRates
        return rates.indices.max { rates[$0] < rates[$1] } ?? 0
    }
}

/// The semantic fact that says which template works for a segment: its id, derived from the
/// segment's name; tags `engagement`, `segment:NAME`, `template:BEST`; the vector of smoothed click
/// rates per template (so facts of segments with similar tastes are close by cosine); the body is
/// the `TemplateStatistics` JSON.
public enum TemplateFact {
    public static func id(_ segment: Segment) -> FactID {
        var random = SeededRandom(mixing: SeededRandom.hash("template-preference/" + segment.rawValue))
        return FactID(bytes: random.uuidBytes())
    }

    public static func fact(_ segment: Segment, _ statistics: TemplateStatistics) -> WireFact {
        WireFact(tags: ["engagement", "segment:" + segment.rawValue, "template:" + CampaignCatalog.templates[statistics.best].name],
                 vector: statistics.clickRates.map { Float($0) }, body: AgentRuntime.encode(statistics))
    }
}

/// What engagement reads from shared memory before it sends: the optimizer's policy (long-term)
/// and the template facts (semantic), with the time it read them.
struct SharedView {
    var policy: OptimizerPolicy
    var templates: [Segment: TemplateStatistics]
    var loadedAt: ContinuousClock.Instant

    static func load(_ runtime: AgentRuntime) async throws(EngramClientError) -> SharedView {
        let policy = try await runtime.load(OptimizerPolicy.self, key: AgentKey.optimizerPolicy)?.value ?? .uniform
        var templates: [Segment: TemplateStatistics] = [:]
        let client = runtime.client
        let namespace = runtime.namespace
        for segment in Segment.allCases {
            let id = TemplateFact.id(segment)
            if let stored = try await runtime.call({ () async throws(EngramClientError) in try await client.semanticGet(namespace: namespace, id: id) }) {
                templates[segment] = try AgentRuntime.decode(TemplateStatistics.self, stored.fact.body, what: "the template fact of \(segment)")
            }
        }
        return SharedView(policy: policy, templates: templates, loadedAt: .now)
    }

    func isStale(after milliseconds: Int) -> Bool {
        ContinuousClock.now - loadedAt > .milliseconds(milliseconds)
    }

    /// The segment's best template, or with probability `explorationShare` one at random.
    func template(for segment: Segment, explorationShare: Double, random: inout SeededRandom) -> Int {
        if random.chance(explorationShare) { return Int(random.next() % UInt64(CampaignCatalog.templates.count)) }
        return templates[segment]?.best ?? Int(random.next() % UInt64(CampaignCatalog.templates.count))
    }
}

/// What one engagement instance learned since its last flush; merged into shared memory by
/// compare-and-set, then cleared.
struct EngagementLearning {
    var leadCount = 0
    var features = FeatureStatistics()
    var sources: [String: Knowledge] = [:]
    var companies: [String: Knowledge] = [:]
    var templates: [Segment: TemplateStatistics] = [:]

    mutating func add(_ decision: TriageDecision, template: Int, response: CustomerPopulation.Response) {
        leadCount += 1
        features.add(decision.features, converted: response.converted)
        let converted = response.converted ? 1 : 0
        sources[decision.source, default: Knowledge()].engaged += 1
        sources[decision.source, default: Knowledge()].converted += converted
        companies[decision.domain, default: Knowledge()].engaged += 1
        companies[decision.domain, default: Knowledge()].converted += converted
        templates[decision.segment, default: TemplateStatistics()].sent[template] += 1
        if response.clicked { templates[decision.segment, default: TemplateStatistics()].clicked[template] += 1 }
    }

    mutating func flush(_ runtime: AgentRuntime, agent: String, position: UInt64) async throws(EngramClientError) {
        guard leadCount > 0 else { return }
        let features = self.features
        try await runtime.merge(key: AgentKey.featureStatistics, initial: FeatureStatistics()) { $0.merge(features) }
        for (source, knowledge) in sources.sorted(by: { $0.key < $1.key }) {
            try await runtime.merge(key: AgentKey.source(source), initial: Knowledge()) { $0.engaged += knowledge.engaged; $0.converted += knowledge.converted }
        }
        for (domain, knowledge) in companies.sorted(by: { $0.key < $1.key }) {
            try await runtime.merge(key: AgentKey.company(domain), initial: Knowledge()) { $0.engaged += knowledge.engaged; $0.converted += knowledge.converted }
        }
        let client = runtime.client
        let namespace = runtime.namespace
        for (segment, statistics) in templates.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let merged = try await runtime.merge(key: AgentKey.templates(segment), initial: TemplateStatistics()) { $0.merge(statistics) }
            let fact = TemplateFact.fact(segment, merged)
            _ = try await runtime.call { () async throws(EngramClientError) in try await client.semanticPut(namespace: namespace, id: TemplateFact.id(segment), fact: fact) }
        }
        let positionText = Array(String(position).utf8)
        _ = try await runtime.call { () async throws(EngramClientError) in try await client.put(namespace: namespace, key: Array(AgentKey.followPosition(agent).utf8), value: positionText) }
        self = EngagementLearning()
    }
}
