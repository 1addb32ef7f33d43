@testable import EngramStorage
import FoundationEssentials

/// Small blocks, segments and log segments, retention that trims nothing unless a test asks, and
/// folds of at most 16 events a command.
func lifecycleLimits() -> Limits {
    var limits = tinyLimits()
    limits.episodicRetentionBytes = 1 << 30
    limits.maintenanceCommandItemCountMax = 16
    // Exact counts per pass: a pass must not meet its deadline on a loaded machine. The tests of
    // the deadline set their own.
    limits.consolidationPassMilliseconds = 60_000
    // The same for each command's time bound (under the thread sanitizer on a loaded machine a
    // fold of 16 events took more than its 1 ms and stopped after 2).
    limits.maintenanceCommandMicrosecondsMax = 30_000_000
    return limits
}

/// Appends random marketing-ish episodes: kinds 0 to 11 (the table's, and unknown ones), a lead
/// from a pool (or none), a few agents. Keeps every appended episode, with the numbers the store
/// gave it, in position order.
struct EpisodeWorkload {
    var generator: SplitMix64
    let leads: [UUID]
    let agents = ["triage-1", "engagement-2", "optimizer-3"]
    var written: [Namespace: [Episode]] = [:]

    init(seed: UInt64, leadCount: Int = 12, leadHigh: UInt64 = 0xE1) {
        generator = SplitMix64(seed: seed)
        leads = (0..<leadCount).map { testID($0 + 1, high: leadHigh) }
    }

    mutating func newEpisode(lead: UUID? = nil) -> NewEpisode {
        let kind = UInt16(generator.below(12))
        let lead = lead ?? (generator.chance(85) ? leads[generator.below(leads.count)] : nil)
        let agent = agents[generator.below(agents.count)]
        return NewEpisode(agent: agent, kind: kind, lead: lead, body: bytes("event \(generator.next() % 1_000_000) for \(agent): kind \(kind), channel details, utm fields"))
    }

    /// Appends `count` episodes to `namespace` in batches of 1 to 8.
    mutating func append(_ store: EngramStore, _ namespace: Namespace, count: Int, lead: UUID? = nil) async throws {
        var left = count
        while left > 0 {
            let batch = (0..<min(left, 1 + generator.below(8))).map { _ in newEpisode(lead: lead) }
            let receipts = try await store.write(EpisodeAppend(namespace: namespace, episodes: batch))
            for (new, receipt) in zip(batch, receipts) {
                written[namespace, default: []].append(Episode(agent: new.agent, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, position: receipt.position, kind: new.kind, lead: new.lead, campaign: new.campaign, body: new.body))
            }
            left -= batch.count
        }
    }

    /// The summaries a fold of the namespace's episodes below `position` gives.
    func model(_ namespace: Namespace, below position: UInt64 = .max, excluding excluded: Set<UUID> = []) -> [UUID: LeadEngagement] {
        var model = EngagementModel()
        for episode in written[namespace] ?? [] where episode.position < position && !(episode.lead.map(excluded.contains) ?? false) {
            model.fold(episode)
        }
        return model.summaries
    }
}

extension EngramStore {
    /// Runs passes until one reports no more work; returns the reports.
    @discardableResult
    func consolidateFully(nowMicroseconds: Int64? = nil, passCountMax: Int = 10_000) throws -> [ConsolidationReport] {
        var reports: [ConsolidationReport] = []
        repeat {
            reports.append(try consolidate(nowMicroseconds: nowMicroseconds))
        } while reports.last!.moreWorkRemains && reports.count < passCountMax
        return reports
    }

    /// Every episode of `namespace` a position-order scan returns.
    func allEpisodes(_ namespace: Namespace) throws -> [Episode] {
        var episodes: [Episode] = []
        var position: UInt64 = 1
        while true {
            let page = try scanEpisodes(namespace: namespace, from: position, limit: 1_000)
            episodes += page.episodes
            position = page.nextPosition
            if page.isAtEnd { return episodes }
        }
    }
}

let doomed = try! Namespace("erase-me.tenant-42")
let kept = try! Namespace("keep.tenant-7")

/// Fills every tier of a namespace: long-term keys (read once, so the hot tier caches them),
/// semantic facts, leads with records for the workload's lead ids, campaigns with metric events,
/// episodes, short-term items; then folds the episodes into engagement summaries.
func populate(_ store: EngramStore, _ namespace: Namespace, _ workload: inout EpisodeWorkload, episodeCount: Int = 120) async throws {
    for index in 0..<12 {
        _ = try await store.write(LongTermPut(namespace: namespace, key: bytes("profile/\(index)"), value: bytes("profile \(index) of \(namespace.name)")))
        _ = try store.longTermGet(namespace: namespace, key: bytes("profile/\(index)"))
    }
    for index in 0..<6 {
        _ = try await store.write(SemanticPut(namespace: namespace, fact: SemanticFact(id: testID(index, high: 0x5E), tags: ["rule"], body: bytes("fact \(index)"), vector: [1, Float(index)])))
    }
    for (index, lead) in workload.leads.enumerated() {
        _ = try await store.write(LeadUpsert(namespace: namespace, id: lead, email: "person\(index)@\(namespace.name).example.com", name: "Person \(index)", company: "Acme", source: "web", score: 40 + index, status: index % 2 == 0 ? "new" : "qualified"))
    }
    for index in 0..<3 {
        let campaign = testID(index, high: 0xCA)
        _ = try await store.write(CampaignUpsert(namespace: namespace, id: campaign, name: "Campaign \(index)", type: "email", status: .active, budgetCents: 10_000))
        _ = try await store.write(CampaignMetricAppend(namespace: namespace, events: (0..<4).map { CampaignMetricEvent(campaignID: campaign, timeMicroseconds: 3_600_000_000 * Int64($0 + 1), sent: 100, opened: 40, clicked: 10, converted: 2) }))
    }
    try await workload.append(store, namespace, count: episodeCount)
    for index in 0..<8 {
        try store.hotTier.put(namespace: namespace, key: bytes("session/\(index)"), value: bytes("context \(index)"), ttlSeconds: 0)
    }
    try store.consolidateFully()
}

/// Everything a namespace's reads return, to compare before and after an erase of another one.
struct TierSnapshot: Equatable {
    var longTerm: [LongTermEntry] = []
    var facts: [StoredFact] = []
    var leads: [Lead] = []
    var campaigns: [CampaignPerformance] = []
    var episodes: [Episode] = []
    var engagement: [UUID: LeadEngagement] = [:]
    var shortTerm: [[UInt8]?] = []

    init(_ store: EngramStore, _ namespace: Namespace) throws {
        longTerm = try store.longTermScan(namespace: namespace, limit: 1_000).entries
        facts = try store.semanticScan(namespace: namespace, limit: 1_000).facts
        leads = try store.leadQuery(namespace: namespace, LeadQuery(order: .newest, limit: 1_000)).leads
        campaigns = try store.activeCampaignPerformance(namespace: namespace, limit: 1_000).performances
        episodes = try store.allEpisodes(namespace)
        engagement = try EngagementModel.stored(store, namespace)
        shortTerm = try (0..<8).map { try store.hotTier.get(namespace: namespace, key: bytes("session/\($0)")) }
    }

    var isEmpty: Bool {
        longTerm.isEmpty && facts.isEmpty && leads.isEmpty && campaigns.isEmpty && episodes.isEmpty && engagement.isEmpty && shortTerm.allSatisfy { $0 == nil }
    }
}

/// Checks the episodic indexes against the blocks: every sequence- and time-index entry names a
/// block holding its agent's record with that sequence (and timestamp) as the agent's first record
/// there, and every agent with records in a block has its two entries. Returns the breaches.
func episodicIndexProblems(_ store: EngramStore) throws -> [String] {
    let log = store.writer.episodicLog
    return try store.read { (transaction) throws(EngramError) -> [String] in
        var problems: [String] = []
        var firsts: [[UInt8]: UInt64] = [:]  // expected entries: index key -> block
        var reader = EpisodicBlockReader(log: log, transaction: transaction)
        for block in try EpisodicRetentionPlan.blockRows(from: 0, below: .max, log: log, transaction: transaction) {
            var seen = Set<[UInt8]>()
            try reader.visitBlock(block.address) { record in
                let agent = Array(record.namespace) + [0xFF] + Array(record.agent)
                if seen.insert(agent).inserted {
                    firsts[EpisodicKey.sequenceIndex(namespace: record.namespace, agent: record.agent, sequence: record.sequence)] = block.address
                    firsts[EpisodicKey.timeIndex(namespace: record.namespace, agent: record.agent, timestampMicroseconds: record.timestampMicroseconds, sequence: record.sequence)] = block.address
                }
                return true
            }
        }
        var found: [[UInt8]: UInt64] = [:]
        try transaction.withCursor(log.table) { (cursor) throws(EngramError) in
            var entry = try [EpisodicKey.sequenceIndex].withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key[0] == EpisodicKey.sequenceIndex || current.key[0] == EpisodicKey.timeIndex {
                found[Array(current.key)] = UInt64(littleEndian: current.value.loadUnaligned(as: UInt64.self))
                entry = try cursor.next()
            }
        }
        for (key, block) in firsts where found[key] != block { problems.append("missing entry \(hex(key)) -> \(block)") }
        for (key, block) in found where firsts[key] != block { problems.append("stray entry \(hex(key)) -> \(block)") }
        return problems
    }
}
