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
        let campaigns = dataset.campaignIDs.enumerated().map { index, id in
            WireCampaign(id: id, name: "Campaign \(index)", type: ["email", "webinar", "retargeting"][index % 3], status: .active, budgetCents: 500_000)
        }
        try await inBatches(count: campaigns.count) { (range) throws(EngramClientError) in
            try Self.requireStored(try await client.campaignUpsertBatch(namespace: namespace, campaigns: Array(campaigns[range])))
        }
        let now = MonotonicClock.wallMicroseconds()
        try await inBatches(count: dataset.preloadLeadIDs.count) { (range) throws(EngramClientError) in
            let leads = range.map { dataset.preloadLead($0, nowMicroseconds: now) }
            try Self.requireStored(try await client.leadUpsertBatch(namespace: namespace, leads: leads))
        }
    }

    /// Runs `body` on `0..<count` cut into ranges of `LoadLimits.preloadBatchCount`, with
    /// `LoadLimits.preloadBatchesInFlight` in flight; the first error is thrown after the ones in
    /// flight finish.
    static func inBatches(count: Int, _ body: @escaping @Sendable (Range<Int>) async throws(EngramClientError) -> Void) async throws(EngramClientError) {
        let size = LoadLimits.preloadBatchCount
        let batchCount = (count + size - 1) / size
        try await concurrently(count: batchCount, inFlightMax: LoadLimits.preloadBatchesInFlight) { (batch) throws(EngramClientError) in
            try await body((batch * size)..<Swift.min(count, (batch + 1) * size))
        }
    }

    /// Throws the first refusal of an upsert batch: the preload's records are valid and their
    /// emails unique, so a refusal is a bug or another writer's data.
    static func requireStored<Record>(_ results: [Result<Record, EngramClientError>]) throws(EngramClientError) {
        for result in results {
            if case .failure(let error) = result { throw error }
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

    /// Runs `body(0..<count)` with at most `inFlightMax` in flight; the first error is thrown
    /// after the ones in flight finish.
    static func concurrently(count: Int, inFlightMax: Int = LoadLimits.preloadConcurrency, _ body: @escaping @Sendable (Int) async throws(EngramClientError) -> Void) async throws(EngramClientError) {
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
            while next < Swift.min(count, inFlightMax) { add() }
            for await result in group {
                if let result, firstFailure == nil { firstFailure = result }
                if next < count, firstFailure == nil { add() }
            }
            return firstFailure
        }
        if let failure { throw failure }
    }
}
