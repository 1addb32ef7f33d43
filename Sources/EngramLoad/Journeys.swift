import EngramClient
import EngramProtocol

/// Times a journey's requests one after another. The first request's latency counts from the
/// journey's scheduled start, not from when it was sent, so time the journey spent waiting for
/// the client (or a late scheduler) is charged to it: no coordinated omission.
struct JourneyTimer {
    var outcome: JourneyOutcome
    private var lastNanoseconds: UInt64
    private let scheduledNanoseconds: UInt64

    init(kind: JourneyKind, scheduledNanoseconds: UInt64) {
        outcome = JourneyOutcome(kind: kind)
        lastNanoseconds = scheduledNanoseconds
        self.scheduledNanoseconds = scheduledNanoseconds
    }

    var failed: Bool { outcome.failure != nil }

    /// Runs one request; nil when it failed (the journey then stops and counts as an error).
    mutating func step<Value>(_ operation: LoadOperation, _ body: () async throws(EngramClientError) -> Value) async -> Value? {
        do throws(EngramClientError) {
            let value = try await body()
            let now = MonotonicClock.nanoseconds()
            outcome.operations.append((operation, (now &- lastNanoseconds) / 1_000))
            lastNanoseconds = now
            return value
        } catch {
            fail(operation, "\(operation.rawValue): \(error.code)")
            return nil
        }
    }

    mutating func fail(_ operation: LoadOperation, _ message: String) {
        outcome.failure = message
        outcome.failedOperation = operation
    }

    mutating func finish(runStartNanoseconds: UInt64) -> JourneyOutcome {
        let now = MonotonicClock.nanoseconds()
        outcome.latencyMicroseconds = (now &- scheduledNanoseconds) / 1_000
        outcome.completedSecond = Int((now &- runStartNanoseconds) / 1_000_000_000)
        return outcome
    }
}

/// The three journeys of the marketing system, as its agents make them (docs/PERFORMANCE.md,
/// "Journeys under load" lists each request). Every value is drawn from a generator derived from
/// the seed and the transaction's index, so the same seed makes the same requests.
struct Journeys: Sendable {
    let client: EngramClient
    let dataset: LoadDataset
    /// Triage and engagement agents are numbered; each keeps its context in short-term memory.
    static let agentCount: UInt64 = 100

    static let kindLeadScored: UInt16 = 2
    static let kindEmailSent: UInt16 = 3
    static let kindEmailOpened: UInt16 = 4
    static let kindEmailClicked: UInt16 = 5

    func run(_ kind: JourneyKind, random: inout SplitMix64, scheduledNanoseconds: UInt64, runStartNanoseconds: UInt64) async -> JourneyOutcome {
        var timer = JourneyTimer(kind: kind, scheduledNanoseconds: scheduledNanoseconds)
        switch kind {
        case .leadProcessing: await leadProcessing(&timer, &random)
        case .campaignEngagement: await campaignEngagement(&timer, &random)
        case .analytics: await analytics(&timer, &random)
        }
        return timer.finish(runStartNanoseconds: runStartNanoseconds)
    }

    /// A new lead arrives: read its source's profile from long-term memory, score it, upsert the
    /// lead, append a "scored" episode to its history, update the agent's short-term context.
    private func leadProcessing(_ timer: inout JourneyTimer, _ random: inout SplitMix64) async {
        let namespace = dataset.namespace
        let sourceIndex = Int(random.next() % UInt64(dataset.sources.count))
        let key = LoadDataset.sourceProfileKey(dataset.sources[sourceIndex])
        guard let found = await timer.step(.sourceProfileGet, { () async throws(EngramClientError) in try await client.get(namespace: namespace, key: key) }) else { return }
        guard let profile = found else { return timer.fail(.sourceProfileGet, "source profile missing (was the data loaded?)") }
        let score = UInt8(Swift.min(100, LoadDataset.baseline(fromProfile: profile.value) + Int(random.next() % 45)))
        let id = random.uuid()
        let lead = WireLead(
            id: id, email: LoadDataset.email(for: id), name: "New lead", company: "Company \(random.next() % 5_000)",
            source: dataset.sources[sourceIndex], category: "inbound", score: score, status: score >= 80 ? "qualified" : "new",
            metadata: Array("{\"utm\":\"load\",\"landing\":\"/pricing\"}".utf8))
        guard await timer.step(.leadUpsert, { () async throws(EngramClientError) in try await client.leadUpsert(namespace: namespace, lead: lead) }) != nil else { return }
        let agent = "triage-\(random.next() % Self.agentCount)"
        let episode = WireNewEpisode(agent: LoadDataset.leadStream(for: id), kind: Self.kindLeadScored, lead: id, body: Array("{\"score\":\(score),\"model\":\"triage-v3\",\"by\":\"\(agent)\"}".utf8))
        guard await timer.step(.leadScoredAppend, { () async throws(EngramClientError) in try await client.append(namespace: namespace, episode: episode) }) != nil else { return }
        let context = Array("{\"last_lead\":\"\(id)\",\"score\":\(score),\"source\":\"\(dataset.sources[sourceIndex])\",\"queue\":\"inbound\"}".utf8)
        _ = await timer.step(.contextPut, { () async throws(EngramClientError) in try await client.shortTermPut(namespace: namespace, key: Array("\(agent):context".utf8), value: context) })
    }

    /// Read a lead and its recent episodes; record an email sent, then (for some) its open and
    /// click, each as campaign metric events and as episodes in the lead's history.
    private func campaignEngagement(_ timer: inout JourneyTimer, _ random: inout SplitMix64) async {
        let namespace = dataset.namespace
        guard !dataset.preloadLeadIDs.isEmpty else { return timer.fail(.leadGet, "no preloaded leads to engage") }
        let leadID = dataset.preloadLeadIDs[Int(random.next() % UInt64(dataset.preloadLeadIDs.count))]
        let campaignID = dataset.campaignIDs[Int(random.next() % UInt64(dataset.campaignIDs.count))]
        let stream = LoadDataset.leadStream(for: leadID)
        guard let found = await timer.step(.leadGet, { () async throws(EngramClientError) in try await client.leadGet(namespace: namespace, id: leadID) }) else { return }
        guard found != nil else { return timer.fail(.leadGet, "lead missing (was the data loaded?)") }
        guard await timer.step(.recentEpisodes, { () async throws(EngramClientError) in try await client.episodes(namespace: namespace, agent: stream, order: .newestFirst, limit: 10) }) != nil else { return }
        let now = MonotonicClock.wallMicroseconds()
        let sent = [WireMetricEvent(campaignID: campaignID, timeMicroseconds: now, sent: 1, opened: 0, clicked: 0, converted: 0)]
        guard await timer.step(.sentMetric, { () async throws(EngramClientError) in try await client.metricAppend(namespace: namespace, events: sent) }) != nil else { return }
        let template = ["welcome-1", "nurture-2", "promo-spring", "webinar-reminder"][Int(random.next() % 4)]
        let sentEpisode = WireNewEpisode(agent: stream, kind: Self.kindEmailSent, lead: leadID, campaign: campaignID, body: Array("{\"template\":\"\(template)\"}".utf8))
        guard await timer.step(.sentEpisode, { () async throws(EngramClientError) in try await client.append(namespace: namespace, episode: sentEpisode) }) != nil else { return }
        // Half the emails are opened; 40 % of those are clicked too.
        guard random.next() % 2 == 0 else { return }
        let clicked = random.next() % 10 < 4
        var events = [WireMetricEvent(campaignID: campaignID, timeMicroseconds: now, sent: 0, opened: 1, clicked: 0, converted: 0)]
        var episodes = [WireNewEpisode(agent: stream, kind: Self.kindEmailOpened, lead: leadID, campaign: campaignID, body: Array("{\"template\":\"\(template)\"}".utf8))]
        if clicked {
            events.append(WireMetricEvent(campaignID: campaignID, timeMicroseconds: now, sent: 0, opened: 0, clicked: 1, converted: 0))
            episodes.append(WireNewEpisode(agent: stream, kind: Self.kindEmailClicked, lead: leadID, campaign: campaignID, body: Array("{\"template\":\"\(template)\",\"link\":\"/offer\"}".utf8)))
        }
        guard await timer.step(.responseMetric, { () async throws(EngramClientError) in try await client.metricAppend(namespace: namespace, events: events) }) != nil else { return }
        _ = await timer.step(.responseEpisode, { () async throws(EngramClientError) in try await client.append(namespace: namespace, episodes: episodes) })
    }

    /// Read the active campaigns' summaries and two campaigns' hourly series for the last day;
    /// query the best leads of the last 24 hours.
    private func analytics(_ timer: inout JourneyTimer, _ random: inout SplitMix64) async {
        let namespace = dataset.namespace
        guard await timer.step(.activeSummaries, { () async throws(EngramClientError) in try await client.activeCampaignSummaries(namespace: namespace, limit: 100) }) != nil else { return }
        let now = MonotonicClock.wallMicroseconds()
        let dayAgo = now - 86_400_000_000
        for _ in 0..<2 {
            let campaignID = dataset.campaignIDs[Int(random.next() % UInt64(dataset.campaignIDs.count))]
            guard await timer.step(.hourlySeries, { () async throws(EngramClientError) in try await client.campaignHourly(namespace: namespace, id: campaignID, fromMicroseconds: dayAgo, toMicroseconds: now, limit: 48) }) != nil else { return }
        }
        let query = WireLeadQuery(scoreMin: 80, createdAtOrAfterMicroseconds: dayAgo, order: .scoreThenNewest, limit: 20)
        _ = await timer.step(.bestLeads, { () async throws(EngramClientError) in try await client.leadQuery(namespace: namespace, query) })
    }
}
