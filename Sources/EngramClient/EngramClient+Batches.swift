import EngramProtocol

/// Bulk loading (docs/PROTOCOL.md, "Upsert batches"): many leads or campaigns in one request, one
/// outcome per item. A refused item (a taken email, a field out of range) is its own `failure`;
/// a failure of the whole request is thrown.
extension EngramClient {
    /// Upserts `leads` (1 to the server's `leadUpsertBatchCountMax`, 1,024 by default, and within
    /// the request frame limit) in one request; returns per lead, in order, the lead as stored
    /// (its version and times filled in) or the error that refused it.
    public func leadUpsertBatch(namespace: String, leads: [WireLead], durability: WireDurability? = nil) async throws(EngramClientError) -> [Result<WireLead, EngramClientError>] {
        let request = try Self.leadUpsertBatchRequest(namespace: namespace, leads: leads)
        return try Self.storedLeads(try await send(request, durability: durability), leads: leads)
    }

    /// Upserts `campaigns` (1 to the server's `campaignUpsertBatchCountMax`, 1,024 by default) in
    /// one request; returns per campaign the campaign as stored or the error that refused it.
    public func campaignUpsertBatch(namespace: String, campaigns: [WireCampaign], durability: WireDurability? = nil) async throws(EngramClientError) -> [Result<WireCampaign, EngramClientError>] {
        let request = try Self.campaignUpsertBatchRequest(namespace: namespace, campaigns: campaigns)
        return try Self.storedCampaigns(try await send(request, durability: durability), campaigns: campaigns)
    }

    // MARK: For callers that pipeline on a connection of their own (`EngramConnection.start`)

    public static func leadUpsertBatchRequest(namespace: String, leads: [WireLead]) throws(EngramClientError) -> Request {
        try checkBatchCount(leads.count, "leads")
        return .leadUpsertBatch(namespace: namespace, records: leads.map(\.record))
    }

    public static func campaignUpsertBatchRequest(namespace: String, campaigns: [WireCampaign]) throws(EngramClientError) -> Request {
        try checkBatchCount(campaigns.count, "campaigns")
        return .campaignUpsertBatch(namespace: namespace, records: campaigns.map(\.record))
    }

    /// The answer to a lead upsert batch of `leads`, as `leadUpsertBatch` returns it.
    public static func storedLeads(_ response: Response, leads: [WireLead]) throws(EngramClientError) -> [Result<WireLead, EngramClientError>] {
        try stored(response, leads, .leadUpsertBatch) { lead, version, createdAt, updatedAt in
            var stored = lead
            stored.version = version
            stored.createdAtMicroseconds = createdAt
            stored.updatedAtMicroseconds = updatedAt
            return stored
        }
    }

    /// The answer to a campaign upsert batch of `campaigns`, as `campaignUpsertBatch` returns it.
    public static func storedCampaigns(_ response: Response, campaigns: [WireCampaign]) throws(EngramClientError) -> [Result<WireCampaign, EngramClientError>] {
        try stored(response, campaigns, .campaignUpsertBatch) { campaign, version, createdAt, updatedAt in
            var stored = campaign
            stored.version = version
            stored.createdAtMicroseconds = createdAt
            stored.updatedAtMicroseconds = updatedAt
            return stored
        }
    }

    private static func checkBatchCount(_ count: Int, _ what: String) throws(EngramClientError) {
        guard count > 0, count <= Int(UInt16.max) else { throw EngramClientError(.invalidArgument, "an upsert batch carries 1 to \(UInt16.max) \(what), got \(count)") }
    }

    /// Matches the outcomes to the records sent; an answer with another count breaks the protocol.
    private static func stored<Record>(_ response: Response, _ records: [Record], _ opcode: Opcode, _ fill: (Record, UInt64, Int64, Int64) -> Record) throws(EngramClientError) -> [Result<Record, EngramClientError>] {
        guard case .upsertOutcomes(let updatedAt, let outcomes) = response, outcomes.count == records.count else {
            throw EngramClientError(.protocolViolation, "unexpected answer \(response) to \(opcode.name) of \(records.count) records")
        }
        var results: [Result<Record, EngramClientError>] = []
        results.reserveCapacity(records.count)
        for (record, outcome) in zip(records, outcomes) {
            switch outcome {
            case .stored(let version, let createdAt):
                results.append(.success(fill(record, version, createdAt, updatedAt)))
            case .refused(let status, let message):
                results.append(.failure(EngramClientError(.server(status), message)))
            }
        }
        return results
    }
}
