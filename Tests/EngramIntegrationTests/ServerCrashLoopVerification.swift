import EngramClient
import EngramProtocol
import Synchronization

/// The checks after each restart of the crash loop: everything read back through the server and
/// held to the ledger. A write that was in flight at the kill and is found applied is adopted.
extension ServerCrashLoopTests {
    func verify(_ client: EngramClient, ledger: SharedLedger, campaigns: [WireUUID], round: Int) async throws {
        var state = ledger.withLock { $0 }
        try await verifyValues(client, &state, round)
        try await verifyEpisodes(client, &state, round)
        try await verifyLeads(client, &state, round)
        try await verifyMetrics(client, &state, campaigns, round)
        state.uncertain = [:]
        let settled = state
        ledger.withLock { $0 = settled }
    }

    private func uncertain(_ state: CrashLedger, where match: (CrashLedger.InFlight) -> Bool) -> Bool {
        state.uncertain.values.contains(where: match)
    }

    func verifyValues(_ client: EngramClient, _ state: inout CrashLedger, _ round: Int) async throws {
        var present: [String: VersionedValue] = [:]
        var after: [UInt8]? = nil
        repeat {
            let page = try await client.scan(namespace: Self.namespace, after: after, limit: 1_000)
            for entry in page.entries { present[String(decoding: entry.key, as: UTF8.self)] = VersionedValue(version: entry.version, value: entry.value) }
            after = page.resumeAfter
        } while after != nil
        for (key, value) in present where state.values[key] != value {
            let acknowledgedVersion = state.values[key]?.version ?? 0
            let inFlight = uncertain(state) { if case .put(key, value.value) = $0 { true } else { false } }
            guard inFlight && value.version > acknowledgedVersion else {
                throw CrashLoopFailure(round, "key \(key) holds version \(value.version) \(String(decoding: value.value, as: UTF8.self)); acknowledged \(state.values[key].map { "version \($0.version) \(String(decoding: $0.value, as: UTF8.self))" } ?? "nothing")")
            }
            state.values[key] = value
        }
        for key in state.values.keys where present[key] == nil {
            throw CrashLoopFailure(round, "acknowledged key \(key) is gone")
        }
    }

    func verifyEpisodes(_ client: EngramClient, _ state: inout CrashLedger, _ round: Int) async throws {
        for index in 0..<Self.clients {
            let agent = "agent-\(index)"
            var present: [WireEpisode] = []
            var range = WireEpisodeRange.all
            while true {
                let page = try await client.episodes(namespace: Self.namespace, agent: agent, range: range, limit: 10_000)
                present += page.episodes
                guard let next = page.next else { break }
                range = next
            }
            guard present.map(\.sequence) == (0..<present.count).map({ UInt64($0 + 1) }) else {
                throw CrashLoopFailure(round, "\(agent)'s sequences are \(present.map(\.sequence).prefix(20)), not 1, 2, 3, ...")
            }
            var acknowledged = state.episodes[agent] ?? []
            var next = 0
            var settled: [WireEpisode] = []
            for episode in present {
                if next < acknowledged.count && acknowledged[next] == episode {
                    next += 1
                } else if uncertain(state, where: { if case .append(agent, episode.body) = $0 { true } else { false } }), episode.kind == 7 {
                    // The append in flight at the kill was applied.
                } else {
                    throw CrashLoopFailure(round, "\(agent) holds episode \(episode.sequence) at position \(episode.position) (\(String(decoding: episode.body, as: UTF8.self))), expected \(next < acknowledged.count ? "\(acknowledged[next])" : "no more")")
                }
                settled.append(episode)
            }
            guard next == acknowledged.count else {
                throw CrashLoopFailure(round, "\(agent) lost acknowledged episodes from sequence \(acknowledged[next].sequence) (\(acknowledged.count - next) of them)")
            }
            acknowledged = settled
            state.episodes[agent] = acknowledged
        }
    }

    func verifyLeads(_ client: EngramClient, _ state: inout CrashLedger, _ round: Int) async throws {
        var present: [WireUUID: WireLead] = [:]
        var cursor: [UInt8]? = nil
        repeat {
            let page = try await client.leadQuery(namespace: Self.namespace, WireLeadQuery(order: .newest, limit: 1_000, cursor: cursor))
            for lead in page.leads {
                guard present.updateValue(lead, forKey: lead.id) == nil else { throw CrashLoopFailure(round, "the lead query returned lead \(lead.id) twice") }
            }
            cursor = page.cursor
        } while cursor != nil
        var added: [WireLead] = []
        for (id, lead) in present where state.leads[id] != lead {
            let inFlight = uncertain(state) {
                guard case .lead(let sent) = $0 else { return false }
                return sent.id == id && sent.email == lead.email && sent.score == lead.score && sent.status == lead.status && sent.metadata == lead.metadata && lead.version > 0
            }
            guard inFlight && state.leads[id] == nil else { throw CrashLoopFailure(round, "lead \(id) (\(lead.email)) is not the one acknowledged: \(state.leads[id].map { "\($0)" } ?? "none was")") }
            state.leads[id] = lead
            added.append(lead)
        }
        for (id, lead) in state.leads where present[id] == nil {
            throw CrashLoopFailure(round, "acknowledged lead \(id) (\(lead.email)) is missing from the query")
        }
        // By id and by email for the leads of this round: the indexes lead to the same record.
        let recent = state.leads.values.filter { $0.email.contains("-r\(round)-") }
        for lead in recent + added {
            let byID = try await client.leadGet(namespace: Self.namespace, id: lead.id)
            let byEmail = try await client.leadGet(namespace: Self.namespace, email: lead.email)
            guard byID == lead, byEmail == lead else { throw CrashLoopFailure(round, "lead \(lead.id): by id \(byID.map { "\($0.version)" } ?? "none"), by email \(byEmail.map { "\($0.version)" } ?? "none"), acknowledged version \(lead.version)") }
        }
    }

    func verifyMetrics(_ client: EngramClient, _ state: inout CrashLedger, _ campaigns: [WireUUID], _ round: Int) async throws {
        for campaign in campaigns {
            guard let summary = try await client.campaignSummary(namespace: Self.namespace, id: campaign) else {
                throw CrashLoopFailure(round, "campaign \(campaign) is gone")
            }
            var events = state.campaigns[campaign] ?? []
            if summary.totals != CrashLedger.totals(events) {
                var inFlightEvents: [WireMetricEvent] = []
                for case .metrics(campaign, let batch) in state.uncertain.values { inFlightEvents = batch }
                guard !inFlightEvents.isEmpty, summary.totals == CrashLedger.totals(events + inFlightEvents) else {
                    throw CrashLoopFailure(round, "campaign \(campaign): summary \(summary.totals), acknowledged events sum to \(CrashLedger.totals(events))")
                }
                events += inFlightEvents
                state.campaigns[campaign] = events
            }
            var buckets: [WireHourlyBucket] = []
            var from: Int64 = 0
            while true {
                let page = try await client.campaignHourly(namespace: Self.namespace, id: campaign, fromMicroseconds: from)
                buckets += page.buckets
                guard let resume = page.resumeFromMicroseconds else { break }
                from = resume
            }
            guard buckets == CrashLedger.hourly(events) else {
                throw CrashLoopFailure(round, "campaign \(campaign): \(buckets.count) hourly buckets differ from its \(events.count) events' \(CrashLedger.hourly(events).count)")
            }
        }
    }
}
