import EngramClient
import EngramProtocol

extension Verifier {
    /// Each campaign's live summary equals the sum of its acknowledged events, or that plus the
    /// append in flight (whole: an append is one batch); its hourly buckets equal the same events
    /// grouped by hour.
    mutating func verifyCampaigns() async throws(EngramClientError) {
        for id in state.campaigns.keys.sorted() {
            let entry = state.campaigns[id]!
            guard let summary = try await client.campaignSummary(namespace: LoadShape.namespace, id: id) else {
                lost("campaign \(id) is gone")
                continue
            }
            let hourly = try await readHourly(id)
            if summary.totals == entry.totals && hourly == entry.hourly { continue }
            if let connection = inFlight(where: { if case .metrics(id, _) = $0 { true } else { false } }),
               case .metrics(_, let events) = state.uncertain[connection]! {
                var withInFlight = entry
                withInFlight.add(events)
                if summary.totals == withInFlight.totals && hourly == withInFlight.hourly {
                    state.campaigns[id] = withInFlight
                    appliedInFlightCount += 1
                    continue
                }
            }
            if summary.totals != entry.totals {
                let kind: Problem.Kind = summary.totals.eventCount < entry.totals.eventCount ? .lost : .unexpected
                problems.append(Problem(kind: kind, message: "campaign \(id): summary \(summary.totals); its acknowledged events sum to \(entry.totals)"))
            } else {
                lost("campaign \(id): \(hourly.count) hourly buckets differ from its acknowledged events' \(entry.hourly.count)")
            }
        }
    }

    private func readHourly(_ id: WireUUID) async throws(EngramClientError) -> [Int64: WireTotals] {
        var buckets: [Int64: WireTotals] = [:]
        var from: Int64 = 0
        while true {
            let page = try await client.campaignHourly(namespace: LoadShape.namespace, id: id, fromMicroseconds: from)
            for bucket in page.buckets { buckets[bucket.hourStartMicroseconds] = bucket.totals }
            guard let resume = page.resumeFromMicroseconds else { return buckets }
            from = resume
        }
    }

    /// The scratch namespace: its keys and its agent's episodes as acknowledged since its last
    /// erase. With the erase itself in flight, it reads either exactly as acknowledged (not
    /// begun) or empty (begun: reads of a namespace being erased are empty from its first step),
    /// and the erase is then finished.
    mutating func verifyScratch() async throws(EngramClientError) {
        let keys = try await scanAll(namespace: LoadShape.scratchNamespace, prefix: "")
        if inFlight(where: { $0 == .scratchErase }) != nil {
            let episodes = try await client.episodes(namespace: LoadShape.scratchNamespace, agent: LoadShape.scratchAgent, limit: 1)
            if keys.isEmpty && episodes.episodes.isEmpty {
                // Begun (or nothing was there to tell): finished now. Not begun, it is dropped,
                // and the namespace must read exactly as acknowledged, below.
                if state.scratch != ScratchState() { appliedInFlightCount += 1 }
                state.scratch = ScratchState()
                scratchEraseToFinish = true
                return
            }
        }
        checkScratchKeys(keys)
        state.scratch.episodes = try await checkEpisodes(namespace: LoadShape.scratchNamespace, agent: LoadShape.scratchAgent, known: state.scratch.episodes, fromSequenceOne: true) { body in
            { if case .scratchAppend(body) = $0 { true } else { false } }
        }
    }
}
