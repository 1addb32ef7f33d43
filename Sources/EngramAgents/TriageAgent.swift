import EngramClient
import EngramProtocol

/// One triage instance: takes leads from the intake, reads what long-term memory knows about the
/// lead's source and company, scores, categorizes and routes it with the shared weights, upserts
/// the lead, appends its decision (`lead.triaged`), and keeps the lead in hand as its working
/// context in short-term memory. Every `weightsRefreshLeads` leads it reloads the weights, and
/// adjusts them (by compare-and-set, so one instance does it per step) once enough new
/// conversions were observed.
public struct TriageAgent: Sendable {
    public let runtime: AgentRuntime
    public let instance: Int
    public let intake: LeadIntake

    public init(runtime: AgentRuntime, instance: Int, intake: LeadIntake) {
        self.runtime = runtime
        self.instance = instance
        self.intake = intake
    }

    public var name: String { "triage-\(instance + 1)" }

    struct WorkingContext: Codable {
        var lead: String
        var email: String
        var processed: Int
        var weightsAdjustment: Int
    }

    public func run() async throws {
        var weights = try await refreshWeights()
        var processed = 0
        while let (_, lead) = await intake.next() {
            try await triage(lead, weights: weights, processed: processed)
            processed += 1
            if processed % runtime.configuration.weightsRefreshLeads == 0 { weights = try await refreshWeights() }
        }
    }

    func triage(_ lead: IntakeLead, weights: TriageWeights, processed: Int) async throws {
        let statistics = runtime.statistics
        guard let id = lead.recordID else {
            statistics.leadsRejected.add()
            return
        }
        // The three are independent: sent together, they cost one round trip instead of three.
        async let remembered: Void = runtime.remember(WorkingContext(lead: id.description, email: lead.email, processed: processed, weightsAdjustment: weights.adjustmentCount), agent: name)
        async let source = runtime.load(Knowledge.self, key: AgentKey.source(lead.source))
        async let company = runtime.load(Knowledge.self, key: AgentKey.company(lead.companyDomain))
        let features = TriageFeatures(lead: lead, source: try await source?.value, company: try await company?.value)
        try await remembered
        let decision = TriageRules.decide(lead, id: id.description, features: features, weights: weights)
        let metadata = AgentRuntime.encode(LeadMetadata(title: lead.title, employees: lead.employees, segment: decision.segment, route: decision.route))
        let record = WireLead(id: id, email: lead.email, name: lead.name, company: lead.company, source: lead.source, category: decision.category, score: UInt8(decision.score), status: decision.qualified ? "qualified" : "disqualified", metadata: metadata)
        guard try await upsert(record) else {
            statistics.leadsRejected.add()
            return
        }
        try await runtime.append([WireNewEpisode(agent: name, kind: EpisodeKind.leadTriaged, lead: id, body: AgentRuntime.encode(decision))])
        statistics.leadsTriaged.add()
        if decision.qualified { statistics.leadsQualified.add() }
    }

    /// Upserts the lead; false when the server refuses it because another lead has its email or a
    /// field is malformed: such a lead is counted as rejected and gets no decision, so engagement
    /// never sees it.
    func upsert(_ record: WireLead) async throws(EngramClientError) -> Bool {
        let client = runtime.client
        let namespace = runtime.namespace
        do throws(EngramClientError) {
            _ = try await runtime.call { () async throws(EngramClientError) in try await client.leadUpsert(namespace: namespace, lead: record) }
            return true
        } catch where error.code == .alreadyExists || error.code == .serverInvalidArgument {
            return false
        }
    }

    /// The shared weights; adjusted first when `weightsAdjustConversions` conversions arrived
    /// since the last adjustment. A lost compare-and-set means another instance adjusted: its
    /// weights are read instead.
    func refreshWeights() async throws(EngramClientError) -> TriageWeights {
        guard let (weights, version) = try await runtime.load(TriageWeights.self, key: AgentKey.triageWeights) else { return .initial }
        guard let learned = try await runtime.load(FeatureStatistics.self, key: AgentKey.featureStatistics)?.value,
              learned.converted - weights.basedOnConversions >= runtime.configuration.weightsAdjustConversions,
              let adjusted = WeightLearning.adjust(weights, from: learned) else { return weights }
        guard try await runtime.store(adjusted, key: AgentKey.triageWeights, expectedVersion: version) else {
            return try await runtime.load(TriageWeights.self, key: AgentKey.triageWeights)?.value ?? weights
        }
        let reason = WeightLearning.reason(adjusted, from: learned)
        try await runtime.append([WireNewEpisode(agent: name, kind: EpisodeKind.weightsAdjusted, body: AgentRuntime.encode(WeightsAdjustment(weights: adjusted, reason: reason)))])
        runtime.statistics.weightAdjustments.add()
        return adjusted
    }
}

/// The lead record's metadata JSON: what triage saw that has no column of its own.
struct LeadMetadata: Codable {
    var title: String
    var employees: Int
    var segment: Segment
    var route: String
}

/// The body of a `triage.weights_adjusted` episode.
public struct WeightsAdjustment: Sendable, Codable {
    public var weights: TriageWeights
    public var reason: String
}
