import EngramClient
import EngramProtocol

/// One triage instance: takes leads from the intake (up to `AgentLimits.triageGroupLeadCountMax`
/// at once, those already due), reads what long-term memory knows about their sources and
/// companies, scores, categorizes and routes each with the shared weights, upserts them in one
/// lead upsert batch, appends their decisions (`lead.triaged`) in one append, and keeps the last
/// lead in hand as its working context in short-term memory. Every `weightsRefreshLeads` leads it reloads the weights, and
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
        let refreshLeads = runtime.configuration.weightsRefreshLeads
        while true {
            let group = await intake.nextGroup(countMax: AgentLimits.triageGroupLeadCountMax).map(\.lead)
            guard !group.isEmpty else { break }
            try await triage(group, weights: weights, processed: processed)
            let before = processed
            processed += group.count
            if processed / refreshLeads > before / refreshLeads { weights = try await refreshWeights() }
        }
    }

    /// Triages a group of leads: their decisions, one lead upsert batch for all of them, and one
    /// append of the decisions of the leads the server stored.
    func triage(_ group: [IntakeLead], weights: TriageWeights, processed: Int) async throws {
        let statistics = runtime.statistics
        let leads = group.compactMap { lead in lead.recordID.map { (lead, $0) } }
        for _ in 0..<(group.count - leads.count) { statistics.leadsRejected.add() }
        guard let (last, lastID) = leads.last else { return }
        // Independent of one another: sent together, they cost one round trip, not one each.
        async let remembered: Void = runtime.remember(WorkingContext(lead: lastID.description, email: last.email, processed: processed + group.count - 1, weightsAdjustment: weights.adjustmentCount), agent: name)
        let knowledge = try await loadKnowledge(sources: Set(leads.map(\.0.source)), companies: Set(leads.map(\.0.companyDomain)))
        try await remembered
        var decisions: [TriageDecision] = []
        var records: [WireLead] = []
        for (lead, id) in leads {
            let features = TriageFeatures(lead: lead, source: knowledge.sources[lead.source] ?? nil, company: knowledge.companies[lead.companyDomain] ?? nil)
            let decision = TriageRules.decide(lead, id: id.description, features: features, weights: weights)
            let metadata = AgentRuntime.encode(LeadMetadata(title: lead.title, employees: lead.employees, segment: decision.segment, route: decision.route))
            decisions.append(decision)
            records.append(WireLead(id: id, email: lead.email, name: lead.name, company: lead.company, source: lead.source, category: decision.category, score: UInt8(decision.score), status: decision.qualified ? "qualified" : "disqualified", metadata: metadata))
        }
        let stored = try await upsert(records)
        var episodes: [WireNewEpisode] = []
        for (index, (_, id)) in leads.enumerated() {
            guard stored[index] else {
                statistics.leadsRejected.add()
                continue
            }
            episodes.append(WireNewEpisode(agent: name, kind: EpisodeKind.leadTriaged, lead: id, body: AgentRuntime.encode(decisions[index])))
        }
        guard !episodes.isEmpty else { return }
        try await runtime.append(episodes)
        for index in leads.indices where stored[index] {
            statistics.leadsTriaged.add()
            if decisions[index].qualified { statistics.leadsQualified.add() }
        }
    }

    /// What long-term memory knows about each source and company of a group, read concurrently,
    /// each key once.
    func loadKnowledge(sources: Set<String>, companies: Set<String>) async throws(EngramClientError) -> (sources: [String: Knowledge?], companies: [String: Knowledge?]) {
        let runtime = runtime
        let keys = sources.map { (true, $0, AgentKey.source($0)) } + companies.map { (false, $0, AgentKey.company($0)) }
        let loaded = await withTaskGroup(of: (Bool, String, Result<Knowledge?, EngramClientError>).self) { group in
            for (isSource, name, key) in keys {
                group.addTask {
                    do throws(EngramClientError) {
                        return (isSource, name, .success(try await runtime.load(Knowledge.self, key: key)?.value))
                    } catch {
                        return (isSource, name, .failure(error))
                    }
                }
            }
            var results: [(Bool, String, Result<Knowledge?, EngramClientError>)] = []
            for await result in group { results.append(result) }
            return results
        }
        var knowledge: (sources: [String: Knowledge?], companies: [String: Knowledge?]) = ([:], [:])
        for (isSource, name, result) in loaded {
            let value = try result.get()
            if isSource { knowledge.sources[name] = value } else { knowledge.companies[name] = value }
        }
        return knowledge
    }

    /// Upserts the leads in one batch; per lead, whether it was stored. The server refuses a lead
    /// whose email another lead has or whose field is malformed: such a lead is counted as
    /// rejected and gets no decision, so engagement never sees it. Any other refusal is thrown.
    func upsert(_ records: [WireLead]) async throws(EngramClientError) -> [Bool] {
        let client = runtime.client
        let namespace = runtime.namespace
        let results = try await runtime.call { () async throws(EngramClientError) in try await client.leadUpsertBatch(namespace: namespace, leads: records) }
        var stored: [Bool] = []
        stored.reserveCapacity(results.count)
        for result in results {
            switch result {
            case .success: stored.append(true)
            case .failure(let error) where error.code == .alreadyExists || error.code == .serverInvalidArgument: stored.append(false)
            case .failure(let error): throw error
            }
        }
        return stored
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
