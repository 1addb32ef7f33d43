import EngramClient
import EngramProtocol

/// Writes the data the journeys read before the clock starts: a long-term profile per lead
/// source, the profile's campaigns (active), and a day of leads. Every write is an upsert or a put
/// of the same values for the same seed, so preloading twice leaves the same data.
enum Preload {
    static func run(client: EngramClient, dataset: LoadDataset, profile: LoadProfile) async throws(EngramClientError) {
        let namespace = dataset.namespace
        for index in dataset.sources.indices {
            try await client.put(namespace: namespace, key: LoadDataset.sourceProfileKey(dataset.sources[index]), value: dataset.sourceProfile(index))
        }
        for (index, id) in dataset.campaignIDs.enumerated() {
            let campaign = WireCampaign(id: id, name: "Campaign \(index)", type: ["email", "webinar", "retargeting"][index % 3], status: .active, budgetCents: 500_000)
            try await client.campaignUpsert(namespace: namespace, campaign: campaign)
        }
        let now = MonotonicClock.wallMicroseconds()
        try await concurrently(count: dataset.preloadLeadIDs.count) { (index) throws(EngramClientError) in
            try await client.leadUpsert(namespace: namespace, lead: dataset.preloadLead(index, nowMicroseconds: now))
        }
    }

    /// Opens every pooled connection before the clock starts, so connecting is not measured as
    /// the first journeys' latency: one ping per connection (the pool hands connections out
    /// round-robin).
    static func warm(client: EngramClient, connectionCount: Int) async throws(EngramClientError) {
        try await concurrently(count: connectionCount) { (_) throws(EngramClientError) in
            _ = try await client.ping()
        }
    }

    /// Runs `body(0..<count)` with at most `LoadLimits.preloadConcurrency` in flight; the first
    /// error is thrown after the ones in flight finish.
    static func concurrently(count: Int, _ body: @escaping @Sendable (Int) async throws(EngramClientError) -> Void) async throws(EngramClientError) {
        let failure: EngramClientError? = await withTaskGroup(of: EngramClientError?.self) { group in
            var next = 0
            var firstFailure: EngramClientError?
            func add() {
                let index = next
                next += 1
                group.addTask {
                    do throws(EngramClientError) {
                        try await body(index)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            while next < Swift.min(count, LoadLimits.preloadConcurrency) { add() }
            for await result in group {
                if let result, firstFailure == nil { firstFailure = result }
                if next < count, firstFailure == nil { add() }
            }
            return firstFailure
        }
        if let failure { throw failure }
    }
}
