import EngramProtocol

/// One page of a lead query; pass `cursor` back, with the same order, for the next.
public struct LeadPage: Sendable, Hashable {
    public let leads: [WireLead]
    public let cursor: [UInt8]?
}

public struct CampaignPage: Sendable, Hashable {
    public let campaigns: [WireCampaign]
    public let next: WireCampaignCursor?
}

public struct CampaignSummaryPage: Sendable, Hashable {
    public let summaries: [WireCampaignSummary]
    public let next: WireCampaignCursor?
}

public struct HourlyPage: Sendable, Hashable {
    public let buckets: [WireHourlyBucket]
    /// Pass as `from` for the rest of the series; nil when it is complete.
    public let resumeFromMicroseconds: Int64?
}

/// Records (docs/PROTOCOL.md, "Records"; layouts in docs/RECORDS.md): leads, campaigns, campaign
/// metric events and the live performance summaries.
extension EngramClient {
    // MARK: Leads

    /// Inserts or replaces the lead with `lead.id`; returns it as stored (version, times). Send
    /// `version` and `updatedAtMicroseconds` 0; `createdAtMicroseconds` `WireLead.createdAtUnset`
    /// for "now" (kept from the first upsert either way). `alreadyExists` when another lead of the
    /// namespace has the email.
    @discardableResult
    public func leadUpsert(namespace: String, lead: WireLead, durability: WireDurability? = nil) async throws(EngramClientError) -> WireLead {
        let response = try await send(.leadUpsert(namespace: namespace, record: lead.record), durability: durability)
        guard case .lead(let stored) = response else { throw unexpected(response, .leadUpsert) }
        return stored
    }

    public func leadGet(namespace: String, id: WireUUID) async throws(EngramClientError) -> WireLead? {
        try await optional(.leadGet(namespace: namespace, id: id)) { (response) throws(EngramClientError) in
            guard case .lead(let lead) = response else { throw unexpected(response, .leadGet) }
            return lead
        }
    }

    /// By email, compared with ASCII letters case-folded.
    public func leadGet(namespace: String, email: String) async throws(EngramClientError) -> WireLead? {
        try await optional(.leadGetByEmail(namespace: namespace, email: email)) { (response) throws(EngramClientError) in
            guard case .lead(let lead) = response else { throw unexpected(response, .leadGetByEmail) }
            return lead
        }
    }

    @discardableResult
    public func leadDelete(namespace: String, id: WireUUID, durability: WireDurability? = nil) async throws(EngramClientError) -> Bool {
        let response = try await send(.leadDelete(namespace: namespace, id: id), durability: durability)
        guard case .existed(let existed) = response else { throw unexpected(response, .leadDelete) }
        return existed
    }

    public func leadQuery(namespace: String, _ query: WireLeadQuery) async throws(EngramClientError) -> LeadPage {
        let response = try await send(.leadQuery(namespace: namespace, query: query))
        guard case .leadPage(let leads, let cursor) = response else { throw unexpected(response, .leadQuery) }
        return LeadPage(leads: leads, cursor: cursor)
    }

    // MARK: Campaigns

    @discardableResult
    public func campaignUpsert(namespace: String, campaign: WireCampaign, durability: WireDurability? = nil) async throws(EngramClientError) -> WireCampaign {
        let response = try await send(.campaignUpsert(namespace: namespace, record: campaign.record), durability: durability)
        guard case .campaign(let stored) = response else { throw unexpected(response, .campaignUpsert) }
        return stored
    }

    public func campaignGet(namespace: String, id: WireUUID) async throws(EngramClientError) -> WireCampaign? {
        try await optional(.campaignGet(namespace: namespace, id: id)) { (response) throws(EngramClientError) in
            guard case .campaign(let campaign) = response else { throw unexpected(response, .campaignGet) }
            return campaign
        }
    }

    /// Deletes the campaign with its events, summary and hourly buckets.
    @discardableResult
    public func campaignDelete(namespace: String, id: WireUUID, durability: WireDurability? = nil) async throws(EngramClientError) -> Bool {
        let response = try await send(.campaignDelete(namespace: namespace, id: id), durability: durability)
        guard case .existed(let existed) = response else { throw unexpected(response, .campaignDelete) }
        return existed
    }

    /// Campaigns by status then type then id, optionally one status and one type.
    public func campaignQuery(namespace: String, status: WireCampaignStatus? = nil, type: String? = nil, after: WireCampaignCursor? = nil, limit: Int = 100) async throws(EngramClientError) -> CampaignPage {
        let response = try await send(.campaignQuery(namespace: namespace, status: status, type: type, limit: try Self.limit(limit), after: after))
        guard case .campaignPage(let campaigns, let next) = response else { throw unexpected(response, .campaignQuery) }
        return CampaignPage(campaigns: campaigns, next: next)
    }

    // MARK: Campaign metrics

    /// Appends metric events (their campaigns must exist) and updates each campaign's summary and
    /// hourly bucket in the same transaction; returns the sequences the events got.
    @discardableResult
    public func metricAppend(namespace: String, events: [WireMetricEvent], durability: WireDurability? = nil) async throws(EngramClientError) -> [UInt64] {
        guard !events.isEmpty, events.count <= Int(UInt16.max) else { throw EngramClientError(.invalidArgument, "a metric append carries 1 to \(UInt16.max) events, got \(events.count)") }
        let response = try await send(.metricAppend(namespace: namespace, events: events), durability: durability)
        guard case .sequences(let sequences) = response, sequences.count == events.count else { throw unexpected(response, .metricAppend) }
        return sequences
    }

    /// The campaign and its live performance summary; nil when there is no such campaign.
    public func campaignSummary(namespace: String, id: WireUUID) async throws(EngramClientError) -> WireCampaignSummary? {
        try await optional(.campaignSummary(namespace: namespace, id: id)) { (response) throws(EngramClientError) in
            guard case .summary(let summary) = response else { throw unexpected(response, .campaignSummary) }
            return summary
        }
    }

    /// The active campaigns with their summaries, a page at a time.
    public func activeCampaignSummaries(namespace: String, after: WireCampaignCursor? = nil, limit: Int = 100) async throws(EngramClientError) -> CampaignSummaryPage {
        let response = try await send(.activeCampaignSummaries(namespace: namespace, limit: try Self.limit(limit), after: after))
        guard case .summaryPage(let summaries, let next) = response else { throw unexpected(response, .activeCampaignSummaries) }
        return CampaignSummaryPage(summaries: summaries, next: next)
    }

    /// The campaign's hours that have events, from the hour of `from` to the hour of `to`.
    public func campaignHourly(namespace: String, id: WireUUID, fromMicroseconds: Int64 = 0, toMicroseconds: Int64 = .max, limit: Int = 1_000) async throws(EngramClientError) -> HourlyPage {
        let response = try await send(.campaignHourly(namespace: namespace, id: id, fromMicroseconds: fromMicroseconds, toMicroseconds: toMicroseconds, limit: try Self.limit(limit)))
        guard case .hourlyPage(let buckets, let resume) = response else { throw unexpected(response, .campaignHourly) }
        return HourlyPage(buckets: buckets, resumeFromMicroseconds: resume)
    }

    // MARK: Helpers

    private static func limit(_ limit: Int) throws(EngramClientError) -> UInt32 {
        guard limit > 0, limit <= Int(UInt32.max) else { throw EngramClientError(.invalidArgument, "a limit must be 1 to \(UInt32.max), got \(limit)") }
        return UInt32(limit)
    }

    /// Sends a read whose `notFound` means nil.
    func optional<Value>(_ request: Request, _ extract: (Response) throws(EngramClientError) -> Value) async throws(EngramClientError) -> Value? {
        do throws(EngramClientError) {
            return try extract(try await send(request))
        } catch where error.code == .notFound {
            return nil
        }
    }
}
