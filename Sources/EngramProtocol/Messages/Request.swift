import NIOCore

/// Every request version 1 defines, decoded. The layouts are in docs/PROTOCOL.md, one section per
/// opcode. Owned by whoever decoded it; keys and values are copies, independent of the frame.
public enum Request: Sendable, Hashable {
    case hello(HelloRequest)
    case ping(payload: [UInt8])
    case stats
    case longTermGet(namespace: String, key: [UInt8])
    case longTermPut(namespace: String, key: [UInt8], value: [UInt8])
    /// `expectedVersion` 0 deletes unconditionally.
    case longTermDelete(namespace: String, key: [UInt8], expectedVersion: UInt64)
    /// `expectedVersion` 0 writes only if the key does not exist.
    case longTermCompareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8])
    /// An empty `after` scans from the start.
    case longTermScan(namespace: String, prefix: [UInt8], after: [UInt8], limit: UInt32)
    case semanticPut(namespace: String, id: FactID, fact: WireFact)
    case semanticGet(namespace: String, id: FactID)
    case semanticDelete(namespace: String, id: FactID)
    case semanticScan(namespace: String, after: FactID?, limit: UInt32)
    case shortTermGet(namespace: String, key: [UInt8])
    case shortTermMultiGet(namespace: String, keys: [[UInt8]])
    case shortTermPut(namespace: String, key: [UInt8], ttl: WireTTL, value: [UInt8])
    case shortTermDelete(namespace: String, key: [UInt8])
    case shortTermTouch(namespace: String, key: [UInt8], ttl: WireTTL)
    case shortTermStats
    /// One episode (a batch of one) or a batch, applied all or none.
    case episodicAppend(namespace: String, episodes: [WireNewEpisode])
    case episodicReadRange(namespace: String, agent: String, range: WireEpisodeRange, order: WireEpisodeOrder, limit: UInt32)
    case episodicScan(namespace: String, from: UInt64, limit: UInt32)
    /// Empty `agents` or `kinds`: every agent, every kind.
    case episodicFollow(namespace: String, from: UInt64, agents: [String], kinds: [UInt16])
    case episodicUnfollow(followRequestID: UInt64)
    /// A lead record in the upsert request form (docs/RECORDS.md): version and updated_at 0.
    case leadUpsert(namespace: String, record: [UInt8])
    case leadGet(namespace: String, id: WireUUID)
    case leadGetByEmail(namespace: String, email: String)
    case leadDelete(namespace: String, id: WireUUID)
    case leadQuery(namespace: String, query: WireLeadQuery)
    /// A campaign record in the upsert request form.
    case campaignUpsert(namespace: String, record: [UInt8])
    case campaignGet(namespace: String, id: WireUUID)
    case campaignDelete(namespace: String, id: WireUUID)
    /// `status` nil and `type` nil: every campaign.
    case campaignQuery(namespace: String, status: WireCampaignStatus?, type: String?, limit: UInt32, after: WireCampaignCursor?)
    case metricAppend(namespace: String, events: [WireMetricEvent])
    case campaignSummary(namespace: String, id: WireUUID)
    case activeCampaignSummaries(namespace: String, limit: UInt32, after: WireCampaignCursor?)
    case campaignHourly(namespace: String, id: WireUUID, fromMicroseconds: Int64, toMicroseconds: Int64, limit: UInt32)
    /// Lead records in the upsert request form, each upserted on its own (docs/PROTOCOL.md,
    /// "Upsert batches"). The records stay bytes: one the server cannot read is refused alone.
    case leadUpsertBatch(namespace: String, records: [[UInt8]])
    /// Campaign records in the upsert request form, as `leadUpsertBatch`.
    case campaignUpsertBatch(namespace: String, records: [[UInt8]])
    /// One consolidation pass now (docs/PROTOCOL.md, "Lifecycle").
    case consolidate
    case eraseNamespace(namespace: String)
    case eraseLead(namespace: String, id: WireUUID)
    case leadEngagement(namespace: String, id: WireUUID)

    public var opcode: Opcode {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .stats: .stats
        case .longTermGet: .longTermGet
        case .longTermPut: .longTermPut
        case .longTermDelete: .longTermDelete
        case .longTermCompareAndSet: .longTermCompareAndSet
        case .longTermScan: .longTermScan
        case .semanticPut: .semanticPut
        case .semanticGet: .semanticGet
        case .semanticDelete: .semanticDelete
        case .semanticScan: .semanticScan
        case .shortTermGet: .shortTermGet
        case .shortTermMultiGet: .shortTermMultiGet
        case .shortTermPut: .shortTermPut
        case .shortTermDelete: .shortTermDelete
        case .shortTermTouch: .shortTermTouch
        case .shortTermStats: .shortTermStats
        case .episodicAppend: .episodicAppend
        case .episodicReadRange: .episodicReadRange
        case .episodicScan: .episodicScan
        case .episodicFollow: .episodicFollow
        case .episodicUnfollow: .episodicUnfollow
        case .leadUpsert: .leadUpsert
        case .leadGet: .leadGet
        case .leadGetByEmail: .leadGetByEmail
        case .leadDelete: .leadDelete
        case .leadQuery: .leadQuery
        case .campaignUpsert: .campaignUpsert
        case .campaignGet: .campaignGet
        case .campaignDelete: .campaignDelete
        case .campaignQuery: .campaignQuery
        case .metricAppend: .metricAppend
        case .campaignSummary: .campaignSummary
        case .activeCampaignSummaries: .activeCampaignSummaries
        case .campaignHourly: .campaignHourly
        case .leadUpsertBatch: .leadUpsertBatch
        case .campaignUpsertBatch: .campaignUpsertBatch
        case .consolidate: .consolidate
        case .eraseNamespace: .eraseNamespace
        case .eraseLead: .eraseLead
        case .leadEngagement: .leadEngagement
        }
    }

    /// The namespace the request addresses, for authorisation; nil for connection-level requests.
    public var namespace: String? {
        switch self {
        case .hello, .ping, .stats, .shortTermStats, .episodicUnfollow, .consolidate: nil
        case .eraseNamespace(let namespace), .eraseLead(let namespace, _), .leadEngagement(let namespace, _):
            namespace
        case .shortTermGet(let namespace, _), .shortTermMultiGet(let namespace, _), .shortTermPut(let namespace, _, _, _),
             .shortTermDelete(let namespace, _), .shortTermTouch(let namespace, _, _), .episodicAppend(let namespace, _),
             .episodicReadRange(let namespace, _, _, _, _), .episodicScan(let namespace, _, _), .episodicFollow(let namespace, _, _, _):
            namespace
        case .leadUpsert(let namespace, _), .leadGet(let namespace, _), .leadGetByEmail(let namespace, _), .leadDelete(let namespace, _),
             .leadQuery(let namespace, _), .campaignUpsert(let namespace, _), .campaignGet(let namespace, _), .campaignDelete(let namespace, _),
             .campaignQuery(let namespace, _, _, _, _), .metricAppend(let namespace, _), .campaignSummary(let namespace, _),
             .activeCampaignSummaries(let namespace, _, _), .campaignHourly(let namespace, _, _, _, _),
             .leadUpsertBatch(let namespace, _), .campaignUpsertBatch(let namespace, _):
            namespace
        case .longTermGet(let namespace, _), .longTermPut(let namespace, _, _), .longTermDelete(let namespace, _, _),
             .longTermCompareAndSet(let namespace, _, _, _), .longTermScan(let namespace, _, _, _),
             .semanticPut(let namespace, _, _), .semanticGet(let namespace, _), .semanticDelete(let namespace, _),
             .semanticScan(let namespace, _, _):
            namespace
        }
    }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let hello):
            hello.encode(into: &buffer)
        case .ping(let payload):
            buffer.writeBytes(payload)
        case .stats:
            break
        case .longTermGet(let namespace, let key):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
        case .longTermPut(let namespace, let key, let value):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeValue(value)
        case .longTermDelete(let namespace, let key, let expectedVersion):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeInteger(expectedVersion, endianness: .little)
        case .longTermCompareAndSet(let namespace, let key, let expectedVersion, let value):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeInteger(expectedVersion, endianness: .little)
            buffer.writeValue(value)
        case .longTermScan(let namespace, let prefix, let after, let limit):
            buffer.writeNamespace(namespace)
            buffer.writeKey(prefix)
            buffer.writeKey(after)
            buffer.writeInteger(limit, endianness: .little)
        case .semanticPut(let namespace, let id, let fact):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
            fact.encode(into: &buffer)
        case .semanticGet(let namespace, let id), .semanticDelete(let namespace, let id):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
        case .semanticScan(let namespace, let after, let limit):
            buffer.writeNamespace(namespace)
            if let after {
                buffer.writeInteger(UInt8(1))
                buffer.writeBytes(after.bytes)
            } else {
                buffer.writeInteger(UInt8(0))
            }
            buffer.writeInteger(limit, endianness: .little)
        case .shortTermGet(let namespace, let key), .shortTermDelete(let namespace, let key):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
        case .shortTermMultiGet(let namespace, let keys):
            buffer.writeNamespace(namespace)
            buffer.writeInteger(UInt16(truncatingIfNeeded: keys.count), endianness: .little)
            for key in keys { buffer.writeKey(key) }
        case .shortTermPut(let namespace, let key, let ttl, let value):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeInteger(ttl.rawValue, endianness: .little)
            buffer.writeValue(value)
        case .shortTermTouch(let namespace, let key, let ttl):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeInteger(ttl.rawValue, endianness: .little)
        case .shortTermStats:
            break
        case .episodicAppend(let namespace, let episodes):
            EpisodicCodec.encodeAppend(namespace, episodes, into: &buffer)
        case .episodicReadRange(let namespace, let agent, let range, let order, let limit):
            buffer.writeNamespace(namespace)
            EpisodicCodec.writeAgent(agent, into: &buffer)
            range.encode(into: &buffer)
            buffer.writeInteger(order.rawValue)
            buffer.writeInteger(limit, endianness: .little)
        case .episodicScan(let namespace, let from, let limit):
            buffer.writeNamespace(namespace)
            buffer.writeInteger(from, endianness: .little)
            buffer.writeInteger(limit, endianness: .little)
        case .episodicFollow(let namespace, let from, let agents, let kinds):
            EpisodicCodec.encodeFollow(namespace, from, agents, kinds, into: &buffer)
        case .episodicUnfollow(let followRequestID):
            buffer.writeInteger(followRequestID, endianness: .little)
        case .leadUpsert(let namespace, let record), .campaignUpsert(let namespace, let record):
            buffer.writeNamespace(namespace)
            RecordCodec.writeRecord(record, into: &buffer)
        case .leadGet(let namespace, let id), .leadDelete(let namespace, let id), .campaignGet(let namespace, let id),
             .campaignDelete(let namespace, let id), .campaignSummary(let namespace, let id):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
        case .leadGetByEmail(let namespace, let email):
            buffer.writeNamespace(namespace)
            RecordCodec.writeText(email, into: &buffer)
        case .leadQuery(let namespace, let query):
            RecordCodec.encodeLeadQuery(namespace, query, into: &buffer)
        case .campaignQuery(let namespace, let status, let type, let limit, let after):
            buffer.writeNamespace(namespace)
            buffer.writeInteger(status?.rawValue ?? 0)
            RecordCodec.writeOptionalText(type, into: &buffer)
            buffer.writeInteger(limit, endianness: .little)
            RecordCodec.writeCursor(after, into: &buffer)
        case .metricAppend(let namespace, let events):
            RecordCodec.encodeMetricAppend(namespace, events, into: &buffer)
        case .leadUpsertBatch(let namespace, let records), .campaignUpsertBatch(let namespace, let records):
            RecordCodec.encodeUpsertBatch(namespace, records, into: &buffer)
        case .activeCampaignSummaries(let namespace, let limit, let after):
            buffer.writeNamespace(namespace)
            buffer.writeInteger(limit, endianness: .little)
            RecordCodec.writeCursor(after, into: &buffer)
        case .campaignHourly(let namespace, let id, let from, let to, let limit):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
            buffer.writeInteger(from, endianness: .little)
            buffer.writeInteger(to, endianness: .little)
            buffer.writeInteger(limit, endianness: .little)
        case .consolidate:
            break
        case .eraseNamespace(let namespace):
            buffer.writeNamespace(namespace)
        case .eraseLead(let namespace, let id), .leadEngagement(let namespace, let id):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
        }
    }

    private static func decodeRecords(_ opcode: Opcode, _ reader: inout BodyReader) throws(ProtocolError) -> Request {
        switch opcode {
        case .leadUpsert:
            return .leadUpsert(namespace: try reader.readNamespace(), record: try reader.readValue("lead record"))
        case .campaignUpsert:
            return .campaignUpsert(namespace: try reader.readNamespace(), record: try reader.readValue("campaign record"))
        case .leadGet:
            return .leadGet(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .leadDelete:
            return .leadDelete(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .campaignGet:
            return .campaignGet(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .campaignDelete:
            return .campaignDelete(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .campaignSummary:
            return .campaignSummary(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .leadGetByEmail:
            return .leadGetByEmail(namespace: try reader.readNamespace(), email: try RecordCodec.readText(&reader, "email"))
        case .leadQuery:
            return try RecordCodec.decodeLeadQuery(&reader)
        case .campaignQuery:
            let namespace = try reader.readNamespace()
            let rawStatus = try reader.read(UInt8.self, "status")
            guard rawStatus <= 4 else { throw reader.failure("status \(rawStatus) is not 0 (any) to 4") }
            let type = try RecordCodec.readOptionalText(&reader, "type")
            return .campaignQuery(namespace: namespace, status: WireCampaignStatus(rawValue: rawStatus), type: type, limit: try reader.read(UInt32.self, "limit"), after: try RecordCodec.readCursor(&reader))
        case .metricAppend:
            return try RecordCodec.decodeMetricAppend(&reader)
        case .leadUpsertBatch:
            let (namespace, records) = try RecordCodec.decodeUpsertBatch(&reader, "lead")
            return .leadUpsertBatch(namespace: namespace, records: records)
        case .campaignUpsertBatch:
            let (namespace, records) = try RecordCodec.decodeUpsertBatch(&reader, "campaign")
            return .campaignUpsertBatch(namespace: namespace, records: records)
        case .activeCampaignSummaries:
            return .activeCampaignSummaries(namespace: try reader.readNamespace(), limit: try reader.read(UInt32.self, "limit"), after: try RecordCodec.readCursor(&reader))
        case .campaignHourly:
            return .campaignHourly(namespace: try reader.readNamespace(), id: try reader.readFactID(), fromMicroseconds: try reader.read(Int64.self, "from"), toMicroseconds: try reader.read(Int64.self, "to"), limit: try reader.read(UInt32.self, "limit"))
        default:
            preconditionFailure("\(opcode) is not a records opcode")
        }
    }

    /// Decodes a request frame's body. Returns nil for an opcode this version does not define (the
    /// caller answers `unknownOpcode`); throws for a body that does not match its layout.
    public static func decode(_ frame: Frame) throws(ProtocolError) -> Request? {
        let opcode = frame.header.opcode
        var reader = BodyReader(frame.body, opcode: opcode, requestID: frame.header.requestID)
        let request: Request
        switch opcode {
        case .hello:
            return .hello(try HelloRequest.decode(&reader))
        case .ping:
            return .ping(payload: try reader.readBytes(reader.remaining, "payload"))
        case .stats:
            request = .stats
        case .longTermGet:
            request = .longTermGet(namespace: try reader.readNamespace(), key: try reader.readKey())
        case .longTermPut:
            request = .longTermPut(namespace: try reader.readNamespace(), key: try reader.readKey(), value: try reader.readValue())
        case .longTermDelete:
            request = .longTermDelete(namespace: try reader.readNamespace(), key: try reader.readKey(), expectedVersion: try reader.read(UInt64.self, "expected version"))
        case .longTermCompareAndSet:
            request = .longTermCompareAndSet(namespace: try reader.readNamespace(), key: try reader.readKey(), expectedVersion: try reader.read(UInt64.self, "expected version"), value: try reader.readValue())
        case .longTermScan:
            request = .longTermScan(namespace: try reader.readNamespace(), prefix: try reader.readKey("prefix"), after: try reader.readKey("after"), limit: try reader.read(UInt32.self, "limit"))
        case .semanticPut:
            request = .semanticPut(namespace: try reader.readNamespace(), id: try reader.readFactID(), fact: try WireFact.decode(&reader))
        case .semanticGet:
            request = .semanticGet(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .semanticDelete:
            request = .semanticDelete(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .semanticScan:
            let namespace = try reader.readNamespace()
            let hasAfter = try reader.read(UInt8.self, "has after")
            guard hasAfter <= 1 else { throw reader.failure("has after is \(hasAfter), not 0 or 1") }
            let after = hasAfter == 1 ? try reader.readFactID() : nil
            request = .semanticScan(namespace: namespace, after: after, limit: try reader.read(UInt32.self, "limit"))
        case .shortTermGet:
            request = .shortTermGet(namespace: try reader.readNamespace(), key: try reader.readKey())
        case .shortTermMultiGet:
            request = try ShortTermCodec.decodeMultiGet(&reader)
        case .shortTermPut:
            request = .shortTermPut(namespace: try reader.readNamespace(), key: try reader.readKey(), ttl: WireTTL(rawValue: try reader.read(UInt32.self, "ttl")), value: try reader.readValue())
        case .shortTermDelete:
            request = .shortTermDelete(namespace: try reader.readNamespace(), key: try reader.readKey())
        case .shortTermTouch:
            request = .shortTermTouch(namespace: try reader.readNamespace(), key: try reader.readKey(), ttl: WireTTL(rawValue: try reader.read(UInt32.self, "ttl")))
        case .shortTermStats:
            request = .shortTermStats
        case .episodicAppend:
            request = try EpisodicCodec.decodeAppend(&reader)
        case .episodicReadRange:
            let namespace = try reader.readNamespace()
            let agent = try EpisodicCodec.readAgent(&reader)
            let range = try WireEpisodeRange.decode(&reader)
            let rawOrder = try reader.read(UInt8.self, "order")
            guard let order = WireEpisodeOrder(rawValue: rawOrder) else { throw reader.failure("order is \(rawOrder), not 0 or 1") }
            request = .episodicReadRange(namespace: namespace, agent: agent, range: range, order: order, limit: try reader.read(UInt32.self, "limit"))
        case .episodicScan:
            request = .episodicScan(namespace: try reader.readNamespace(), from: try reader.read(UInt64.self, "from position"), limit: try reader.read(UInt32.self, "limit"))
        case .episodicFollow:
            request = try EpisodicCodec.decodeFollow(&reader)
        case .episodicUnfollow:
            request = .episodicUnfollow(followRequestID: try reader.read(UInt64.self, "follow request id"))
        case .leadUpsert, .campaignUpsert, .leadGet, .leadDelete, .campaignGet, .campaignDelete, .campaignSummary,
             .leadGetByEmail, .leadQuery, .campaignQuery, .metricAppend, .activeCampaignSummaries, .campaignHourly,
             .leadUpsertBatch, .campaignUpsertBatch:
            request = try decodeRecords(opcode, &reader)
        case .consolidate, .eraseNamespace, .eraseLead, .leadEngagement:
            request = try LifecycleCodec.decodeRequest(opcode, &reader)
        default:
            return nil
        }
        try reader.finish()
        return request
    }
}
