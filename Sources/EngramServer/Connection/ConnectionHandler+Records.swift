import EngramProtocol
import EngramStorage
import FoundationEssentials
import NIOCore

/// Records (docs/PROTOCOL.md, "Records"; layouts in docs/RECORDS.md): upserts, deletes and metric
/// appends go through the group-commit writer and are answered when durable; gets, queries,
/// summaries and series run here on the event loop in one LMDB read transaction each.
extension ConnectionHandler {
    func executeRecords(_ request: Request, _ header: FrameHeader, _ start: UInt64) {
        let role: Role = request.opcode.writes ? .write : .read
        guard let name = request.namespace, let namespace = authorize(name, role, header, start) else { return }
        do {
            switch request {
            case .leadUpsert(_, let record):
                submitResponse(try LeadUpsert(namespace: namespace, request: record), header, start) { .lead(WireLead($0)) }
            case .leadDelete(_, let id):
                submitExisted(LeadDelete(namespace: namespace, id: UUID(id)), header, start)
            case .campaignUpsert(_, let record):
                submitResponse(try Self.campaignUpsert(namespace, record), header, start) { .campaign(WireCampaign($0)) }
            case .campaignDelete(_, let id):
                submitExisted(CampaignDelete(namespace: namespace, id: UUID(id)), header, start)
            case .metricAppend(_, let events):
                let command = CampaignMetricAppend(namespace: namespace, events: events.map(CampaignMetricEvent.init))
                submitResponse(command, header, start) { .sequences($0) }
            case .leadUpsertBatch(_, let records):
                try LeadUpsertBatch.checkRequest(recordCount: records.count, byteCount: Self.requestByteCount(records), server.store.limits)
                let items = records.map { record in Result { () throws(EngramError) in try LeadUpsert(namespace: namespace, request: record) } }
                let command = LeadUpsertBatch(namespace: namespace, items: items, limits: server.store.limits)
                submitResponse(command, header, start) { Self.upsertOutcomes($0) { ($0.version, $0.createdAtMicroseconds) } }
            case .campaignUpsertBatch(_, let records):
                try CampaignUpsertBatch.checkRequest(recordCount: records.count, byteCount: Self.requestByteCount(records), server.store.limits)
                let items = records.map { record in Result { () throws(EngramError) in try Self.campaignUpsert(namespace, record) } }
                let command = CampaignUpsertBatch(namespace: namespace, items: items, limits: server.store.limits)
                submitResponse(command, header, start) { Self.upsertOutcomes($0) { ($0.version, $0.createdAtMicroseconds) } }
            case .leadGet(_, let id):
                answerFound(try server.store.leadGet(namespace: namespace, id: UUID(id)).map { .lead(WireLead($0)) }, header, start)
            case .leadGetByEmail(_, let email):
                answerFound(try server.store.leadGet(namespace: namespace, email: email).map { .lead(WireLead($0)) }, header, start)
            case .leadQuery(_, let query):
                answer(try leadPage(namespace, query), header, start)
            case .campaignGet(_, let id):
                answerFound(try server.store.campaignGet(namespace: namespace, id: UUID(id)).map { .campaign(WireCampaign($0)) }, header, start)
            case .campaignQuery(_, let status, let type, let limit, let after):
                let page = try server.store.campaignQuery(namespace: namespace, status: status.map(CampaignStatus.init), type: type, after: after.map(CampaignCursor.init), limit: Int(limit))
                answer(.campaignPage(campaigns: page.campaigns.map(WireCampaign.init), next: page.next.map(WireCampaignCursor.init)), header, start)
            case .campaignSummary(_, let id):
                answerFound(try server.store.campaignPerformance(namespace: namespace, id: UUID(id)).map { .summary(WireCampaignSummary($0)) }, header, start)
            case .activeCampaignSummaries(_, let limit, let after):
                let page = try server.store.activeCampaignPerformance(namespace: namespace, after: after.map(CampaignCursor.init), limit: Int(limit))
                answer(.summaryPage(summaries: page.performances.map(WireCampaignSummary.init), next: page.next.map(WireCampaignCursor.init)), header, start)
            case .campaignHourly(_, let id, let from, let to, let limit):
                let page = try server.store.campaignHourlySeries(namespace: namespace, campaignID: UUID(id), fromMicroseconds: from, toMicroseconds: to, limit: Int(limit))
                answer(.hourlyPage(buckets: page.buckets.map { WireHourlyBucket(hourStartMicroseconds: $0.hourStartMicroseconds, totals: WireTotals($0.totals)) }, resumeFromMicroseconds: page.resumeFromMicroseconds), header, start)
            default:
                preconditionFailure("\(request.opcode) is not a records request")
            }
        } catch {
            answerError(Status(error), error.wireMessage, header, startNanoseconds: start)
        }
    }

    private func answerFound(_ response: Response?, _ header: FrameHeader, _ start: UInt64) {
        guard let response else {
            answerError(.notFound, "", header, startNanoseconds: start)
            return
        }
        answer(response, header, start)
    }

    /// A query page, cut to the response frame limit: leads carry up to 16 KiB of metadata each,
    /// so a full page of the largest could pass it. A cut page's cursor is the position of its last
    /// lead, which the next page resumes strictly after (docs/RECORDS.md, "Cursor").
    private func leadPage(_ namespace: Namespace, _ query: WireLeadQuery) throws(EngramError) -> Response {
        let cursor = try query.cursor.map { (bytes) throws(EngramError) in try LeadCursor(bytes: bytes) }
        let order: LeadQuery.Order = query.order == .newest ? .newest : .scoreThenNewest
        let page = try server.store.leadQuery(namespace: namespace, LeadQuery(scoreMin: Int(query.scoreMin), createdAtOrAfterMicroseconds: query.createdAtOrAfterMicroseconds, status: query.status, source: query.source, order: order, limit: Int(query.limit), cursor: cursor))
        let budget = server.responseFrameBytesMax - FrameHeader.byteCount - 4 - 1 - 32
        var leads: [WireLead] = []
        var bytes = 0
        for lead in page.leads {
            let wire = WireLead(lead)
            let size = 4 + wire.recordByteCount
            if !leads.isEmpty && bytes + size > budget {
                let last = page.leads[leads.count - 1]
                return .leadPage(leads: leads, cursor: LeadCursor(order: order, score: last.score, createdAtMicroseconds: last.createdAtMicroseconds, id: last.id).bytes)
            }
            leads.append(wire)
            bytes += size
        }
        return .leadPage(leads: leads, cursor: page.next?.bytes)
    }

    /// The bytes an upsert batch's records took on the wire: each with its u32 length.
    static func requestByteCount(_ records: [[UInt8]]) -> Int {
        records.reduce(0) { $0 + 4 + $1.count }
    }

    /// An upsert batch's answer: each stored item's version and created_at, each refusal's status
    /// and message (docs/PROTOCOL.md, "Upsert batches").
    static func upsertOutcomes<Stored>(_ outcome: UpsertBatchOutcome<Stored>, _ stored: (Stored) -> (version: UInt64, createdAtMicroseconds: Int64)) -> Response {
        let outcomes = outcome.results.map { result -> WireUpsertOutcome in
            switch result {
            case .success(let record):
                let (version, createdAt) = stored(record)
                return .stored(version: version, createdAtMicroseconds: createdAt)
            case .failure(let error):
                return .refused(Status(error), message: error.wireMessage)
            }
        }
        return .upsertOutcomes(updatedAtMicroseconds: outcome.batchTimeMicroseconds, outcomes: outcomes)
    }

    /// The campaign upsert request form: a campaign record with version and updated_at 0 and
    /// created_at a time or -1 (docs/RECORDS.md).
    static func campaignUpsert(_ namespace: Namespace, _ record: [UInt8]) throws(EngramError) -> CampaignUpsert {
        guard record.count >= 52 else { throw EngramError(.invalidArgument, "a campaign upsert request of \(record.count) bytes is shorter than the 52-byte header") }
        let createdAt = record.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 28, as: Int64.self)) }
        var checked = record
        // "-1: the batch time" is not a time the stored form allows; check the rest with 0 there.
        if createdAt == WireLead.createdAtUnset {
            checked.replaceSubrange(28..<36, with: repeatElement(UInt8(0), count: 8))
        }
        let campaign: Campaign
        do throws(EngramError) {
            campaign = try Campaign(record: checked)
        } catch {
            throw EngramError(.invalidArgument, "a campaign upsert request: " + error.message)
        }
        guard campaign.version == 0, campaign.updatedAtMicroseconds == 0 else {
            throw EngramError(.invalidArgument, "a campaign upsert request must carry version 0 and updated_at 0 (the store assigns them)")
        }
        return CampaignUpsert(namespace: namespace, id: campaign.id, name: campaign.name, type: campaign.type, status: campaign.status, budgetCents: campaign.budgetCents, createdAtMicroseconds: createdAt == WireLead.createdAtUnset ? nil : createdAt)
    }

    func submitResponse<Command: WriteCommand>(_ command: Command, _ header: FrameHeader, _ start: UInt64, _ response: @escaping @Sendable (Command.Outcome) -> Response) {
        let completion = completionSink(header, start)
        submit(header, start) { () throws(EngramError) in
            try server.store.submit(command, durability: durability(header)) { result in
                switch result {
                case .success(let outcome): completion(.response(response(outcome)))
                case .failure(let error): completion(.failure(error))
                }
            }
        }
    }
}

extension WireLead {
    init(_ lead: Lead) {
        self.init(id: FactID(lead.id), email: lead.email, name: lead.name, company: lead.company, source: lead.source, category: lead.category, score: UInt8(clamping: lead.score), status: lead.status, metadata: lead.metadata, createdAtMicroseconds: lead.createdAtMicroseconds, updatedAtMicroseconds: lead.updatedAtMicroseconds, version: lead.version)
    }
}

extension WireCampaign {
    init(_ campaign: Campaign) {
        self.init(id: FactID(campaign.id), name: campaign.name, type: campaign.type, status: WireCampaignStatus(rawValue: campaign.status.rawValue)!, budgetCents: campaign.budgetCents, createdAtMicroseconds: campaign.createdAtMicroseconds, updatedAtMicroseconds: campaign.updatedAtMicroseconds, version: campaign.version)
    }
}

extension WireTotals {
    init(_ totals: CampaignTotals) {
        self.init(eventCount: totals.eventCount, sent: totals.sent, opened: totals.opened, clicked: totals.clicked, converted: totals.converted)
    }
}

extension WireCampaignSummary {
    init(_ performance: CampaignPerformance) {
        self.init(campaign: WireCampaign(performance.campaign), totals: WireTotals(performance.totals))
    }
}

extension WireCampaignCursor {
    init(_ cursor: CampaignCursor) {
        self.init(status: WireCampaignStatus(rawValue: cursor.status.rawValue)!, type: cursor.type, id: FactID(cursor.id))
    }
}

extension CampaignCursor {
    init(_ cursor: WireCampaignCursor) {
        self.init(status: CampaignStatus(cursor.status), type: cursor.type, id: UUID(cursor.id))
    }
}

extension CampaignStatus {
    init(_ status: WireCampaignStatus) {
        self = CampaignStatus(rawValue: status.rawValue)!
    }
}

extension CampaignMetricEvent {
    init(_ event: WireMetricEvent) {
        self.init(campaignID: UUID(event.campaignID), timeMicroseconds: event.timeMicroseconds, sequence: event.sequence, sent: event.sent, opened: event.opened, clicked: event.clicked, converted: event.converted)
    }
}
