import NIOCore

/// One long-term entry of a scan page.
public struct WireEntry: Sendable, Hashable {
    public var key: [UInt8]
    public var version: UInt64
    public var value: [UInt8]
    public init(key: [UInt8], version: UInt64, value: [UInt8]) {
        self.key = key
        self.version = version
        self.value = value
    }
}

/// One fact of a semantic scan page or get.
public struct WireStoredFact: Sendable, Hashable {
    public var id: FactID
    public var version: UInt64
    public var fact: WireFact
    public init(id: FactID, version: UInt64, fact: WireFact) {
        self.id = id
        self.version = version
        self.fact = fact
    }
}

/// One named counter of the stats answer.
public struct Statistic: Sendable, Hashable {
    public var name: String
    public var value: UInt64
    public init(_ name: String, _ value: UInt64) {
        self.name = name
        self.value = value
    }
}

/// A response body, decoded according to the opcode it answers. Responses with a non-zero status
/// are `.failure`. Every case has an encoder, which the server uses, so the two sides share one
/// definition of each layout.
public enum Response: Sendable, Hashable {
    case hello(HelloResponse)
    case pong(payload: [UInt8])
    case stats([Statistic])
    case value(version: UInt64, value: [UInt8])
    /// The version a put or compare-and-set gave.
    case version(UInt64)
    /// Whether a deleted item existed.
    case existed(Bool)
    case longTermPage(entries: [WireEntry], resumeAfter: [UInt8]?)
    case fact(version: UInt64, fact: WireFact)
    case semanticPage(facts: [WireStoredFact], resumeAfter: FactID?)
    /// A short-term get's value.
    case shortTermValue([UInt8])
    case multiGet([MultiGetEntry])
    /// A success with no body (short-term put).
    case empty
    case receipts([WireEpisodeReceipt])
    /// A range read's page; `next` continues it.
    case episodePage(episodes: [WireEpisode], next: WireEpisodeRange?)
    case episodeScanPage(episodes: [WireEpisode], nextPosition: UInt64, isAtEnd: Bool)
    /// A follow's push frame (sent with the `more` flag): every matching episode below
    /// `nextPosition` has been sent.
    case followPush(nextPosition: UInt64, episodes: [WireEpisode])
    /// A follow's last frame after an unfollow (no `more` flag).
    case followEnd(nextPosition: UInt64)
    case lead(WireLead)
    /// A lead query page; `cursor` (27 opaque bytes) continues it.
    case leadPage(leads: [WireLead], cursor: [UInt8]?)
    case campaign(WireCampaign)
    case campaignPage(campaigns: [WireCampaign], next: WireCampaignCursor?)
    /// The sequences a metric append gave its events, in order.
    case sequences([UInt64])
    case summary(WireCampaignSummary)
    case summaryPage(summaries: [WireCampaignSummary], next: WireCampaignCursor?)
    /// Hours with events, ascending; `resumeFrom` continues the series.
    case hourlyPage(buckets: [WireHourlyBucket], resumeFromMicroseconds: Int64?)
    /// An upsert batch's answer: the batch time (every stored item's updated_at) and one outcome
    /// per item, in request order.
    case upsertOutcomes(updatedAtMicroseconds: Int64, outcomes: [WireUpsertOutcome])
    /// What a consolidation pass did.
    case consolidation(WireConsolidationReport)
    /// What an erase did.
    case erasure(WireErasureReport)
    case engagement(WireLeadEngagement)
    /// Server frame: the server read this many requests on the connection and closes after them.
    case goingAway(requestsRead: UInt64)
    case failure(Status, message: String)

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let hello):
            hello.encode(into: &buffer)
        case .pong(let payload):
            buffer.writeBytes(payload)
        case .stats(let statistics):
            buffer.writeInteger(UInt16(statistics.count), endianness: .little)
            for statistic in statistics {
                buffer.writeInteger(UInt8(truncatingIfNeeded: statistic.name.utf8.count))
                buffer.writeString(statistic.name)
                buffer.writeInteger(statistic.value, endianness: .little)
            }
        case .value(let version, let value):
            buffer.writeInteger(version, endianness: .little)
            buffer.writeValue(value)
        case .version(let version):
            buffer.writeInteger(version, endianness: .little)
        case .existed(let existed):
            buffer.writeInteger(existed ? UInt8(1) : 0)
        case .longTermPage(let entries, let resumeAfter):
            buffer.writeInteger(UInt32(entries.count), endianness: .little)
            for entry in entries { Self.write(entry, into: &buffer) }
            buffer.writeKey(resumeAfter ?? [])
        case .fact(let version, let fact):
            buffer.writeInteger(version, endianness: .little)
            fact.encode(into: &buffer)
        case .semanticPage(let facts, let resumeAfter):
            buffer.writeInteger(UInt32(facts.count), endianness: .little)
            for fact in facts { Self.write(fact, into: &buffer) }
            if let resumeAfter {
                buffer.writeInteger(UInt8(1))
                buffer.writeBytes(resumeAfter.bytes)
            } else {
                buffer.writeInteger(UInt8(0))
            }
        case .goingAway(let requestsRead):
            buffer.writeInteger(requestsRead, endianness: .little)
        case .shortTermValue(let value):
            buffer.writeValue(value)
        case .multiGet(let entries):
            ShortTermCodec.encodeMultiGet(entries, into: &buffer)
        case .empty:
            break
        case .receipts(let receipts):
            buffer.writeInteger(UInt16(truncatingIfNeeded: receipts.count), endianness: .little)
            for receipt in receipts {
                buffer.writeInteger(receipt.sequence, endianness: .little)
                buffer.writeInteger(receipt.timestampMicroseconds, endianness: .little)
                buffer.writeInteger(receipt.position, endianness: .little)
            }
        case .episodePage(let episodes, let next):
            EpisodicCodec.encodeEpisodes(episodes, into: &buffer)
            if let next {
                buffer.writeInteger(UInt8(1))
                next.encode(into: &buffer)
            } else {
                buffer.writeInteger(UInt8(0))
            }
        case .episodeScanPage(let episodes, let nextPosition, let isAtEnd):
            EpisodicCodec.encodeEpisodes(episodes, into: &buffer)
            buffer.writeInteger(nextPosition, endianness: .little)
            buffer.writeInteger(isAtEnd ? UInt8(1) : 0)
        case .followPush(let nextPosition, let episodes):
            buffer.writeInteger(nextPosition, endianness: .little)
            EpisodicCodec.encodeEpisodes(episodes, into: &buffer)
        case .followEnd(let nextPosition):
            buffer.writeInteger(nextPosition, endianness: .little)
        case .lead(let lead):
            RecordCodec.writeRecord(lead, into: &buffer)
        case .leadPage(let leads, let cursor):
            buffer.writeInteger(UInt32(leads.count), endianness: .little)
            // One reservation for the page, rather than a reallocation every few leads.
            buffer.reserveCapacity(minimumWritableBytes: leads.reduce(1 + (cursor?.count ?? 0)) { $0 + 4 + $1.recordByteCount })
            for lead in leads { RecordCodec.writeRecord(lead, into: &buffer) }
            buffer.writeInteger(UInt8(truncatingIfNeeded: cursor?.count ?? 0))
            buffer.writeBytes(cursor ?? [])
        case .campaign(let campaign):
            RecordCodec.writeRecord(campaign.record, into: &buffer)
        case .campaignPage(let campaigns, let next):
            buffer.writeInteger(UInt32(campaigns.count), endianness: .little)
            for campaign in campaigns { RecordCodec.writeRecord(campaign.record, into: &buffer) }
            RecordCodec.writeCursor(next, into: &buffer)
        case .sequences(let sequences):
            buffer.writeInteger(UInt16(truncatingIfNeeded: sequences.count), endianness: .little)
            for sequence in sequences { buffer.writeInteger(sequence, endianness: .little) }
        case .summary(let summary):
            RecordCodec.encodeSummary(summary, into: &buffer)
        case .summaryPage(let summaries, let next):
            buffer.writeInteger(UInt32(summaries.count), endianness: .little)
            for summary in summaries { RecordCodec.encodeSummary(summary, into: &buffer) }
            RecordCodec.writeCursor(next, into: &buffer)
        case .hourlyPage(let buckets, let resume):
            buffer.writeInteger(UInt32(buckets.count), endianness: .little)
            for bucket in buckets {
                buffer.writeInteger(bucket.hourStartMicroseconds, endianness: .little)
                bucket.totals.encode(into: &buffer)
            }
            buffer.writeInteger(resume == nil ? UInt8(0) : 1)
            if let resume { buffer.writeInteger(resume, endianness: .little) }
        case .upsertOutcomes(let updatedAt, let outcomes):
            RecordCodec.encodeUpsertOutcomes(updatedAt, outcomes, into: &buffer)
        case .consolidation(let report):
            report.encode(into: &buffer)
        case .erasure(let report):
            report.encode(into: &buffer)
        case .engagement(let engagement):
            engagement.encode(into: &buffer)
        case .failure(_, let message):
            ErrorBody(message: message).encode(into: &buffer)
        }
    }

    /// The status the response frame carries.
    public var status: Status {
        if case .failure(let status, _) = self { return status }
        return .ok
    }

    /// The flags the response frame carries: `more` on a follow's push frames.
    public var flags: FrameFlags {
        if case .followPush = self { return .more }
        return []
    }

    public static func write(_ entry: WireEntry, into buffer: inout ByteBuffer) {
        buffer.writeKey(entry.key)
        buffer.writeInteger(entry.version, endianness: .little)
        buffer.writeValue(entry.value)
    }

    public static func write(_ fact: WireStoredFact, into buffer: inout ByteBuffer) {
        buffer.writeBytes(fact.id.bytes)
        buffer.writeInteger(fact.version, endianness: .little)
        fact.fact.encode(into: &buffer)
    }

    private static func decodeRecords(_ opcode: Opcode, _ reader: inout BodyReader) throws(ProtocolError) -> Response {
        func lead(_ reader: inout BodyReader) throws(ProtocolError) -> WireLead {
            try RecordCodec.readRecord(&reader, "lead") { (record) throws(ProtocolError) in try WireLead.decode(&record) }
        }
        func campaign(_ reader: inout BodyReader) throws(ProtocolError) -> WireCampaign {
            try RecordCodec.readRecord(&reader, "campaign") { (record) throws(ProtocolError) in try WireCampaign.decode(&record) }
        }
        switch opcode {
        case .leadUpsert, .leadGet, .leadGetByEmail:
            return .lead(try lead(&reader))
        case .leadQuery:
            let count = try RecordCodec.readCount(&reader, bytesMin: 4)
            var leads: [WireLead] = []
            for _ in 0..<count { leads.append(try lead(&reader)) }
            let cursorLength = Int(try reader.read(UInt8.self, "cursor length"))
            return .leadPage(leads: leads, cursor: cursorLength == 0 ? nil : try reader.readBytes(cursorLength, "cursor"))
        case .campaignUpsert, .campaignGet:
            return .campaign(try campaign(&reader))
        case .campaignQuery:
            let count = try RecordCodec.readCount(&reader, bytesMin: 4)
            var campaigns: [WireCampaign] = []
            for _ in 0..<count { campaigns.append(try campaign(&reader)) }
            return .campaignPage(campaigns: campaigns, next: try RecordCodec.readCursor(&reader))
        case .metricAppend:
            let count = Int(try reader.read(UInt16.self, "count"))
            guard count * 8 <= reader.remaining else { throw reader.failure("\(count) sequences need \(count * 8) bytes, \(reader.remaining) remain") }
            var sequences: [UInt64] = []
            for _ in 0..<count { sequences.append(try reader.read(UInt64.self, "sequence")) }
            return .sequences(sequences)
        case .campaignSummary:
            return .summary(try RecordCodec.decodeSummary(&reader))
        case .leadUpsertBatch, .campaignUpsertBatch:
            return try RecordCodec.decodeUpsertOutcomes(&reader)
        case .activeCampaignSummaries:
            let count = try RecordCodec.readCount(&reader, bytesMin: 68)
            var summaries: [WireCampaignSummary] = []
            for _ in 0..<count { summaries.append(try RecordCodec.decodeSummary(&reader)) }
            return .summaryPage(summaries: summaries, next: try RecordCodec.readCursor(&reader))
        case .campaignHourly:
            let count = try RecordCodec.readCount(&reader, bytesMin: 56)
            var buckets: [WireHourlyBucket] = []
            for _ in 0..<count {
                buckets.append(WireHourlyBucket(hourStartMicroseconds: try reader.read(Int64.self, "hour start"), totals: try WireTotals.decode(&reader)))
            }
            let hasResume = try reader.readFlag("has resume")
            return .hourlyPage(buckets: buckets, resumeFromMicroseconds: hasResume ? try reader.read(Int64.self, "resume from") : nil)
        default:
            preconditionFailure("\(opcode) is not a records opcode")
        }
    }

    static func decodeStatistics(_ reader: inout BodyReader) throws(ProtocolError) -> [Statistic] {
        let count = Int(try reader.read(UInt16.self, "count"))
        var statistics: [Statistic] = []
        for _ in 0..<count {
            let name = try reader.readString(Int(try reader.read(UInt8.self, "name length")), "name")
            statistics.append(Statistic(name, try reader.read(UInt64.self, "value")))
        }
        return statistics
    }

    /// Decodes a response frame. Bytes past the known fields are ignored (docs/PROTOCOL.md, "How
    /// the protocol evolves"). Throws for a body too short for its layout or an unknown opcode.
    public static func decode(_ frame: Frame) throws(ProtocolError) -> Response {
        let header = frame.header
        var reader = BodyReader(frame.body, opcode: header.opcode, requestID: header.requestID)
        if header.status != .ok {
            return .failure(header.status, message: reader.remaining == 0 ? "" : try ErrorBody.decode(&reader).message)
        }
        switch header.opcode {
        case .hello:
            return .hello(try HelloResponse.decode(&reader))
        case .ping:
            return .pong(payload: try reader.readBytes(reader.remaining, "payload"))
        case .stats:
            return .stats(try Self.decodeStatistics(&reader))
        case .goingAway:
            return .goingAway(requestsRead: try reader.read(UInt64.self, "requests read"))
        case .longTermGet:
            return .value(version: try reader.read(UInt64.self, "version"), value: try reader.readValue())
        case .longTermPut, .longTermCompareAndSet, .semanticPut:
            return .version(try reader.read(UInt64.self, "version"))
        case .shortTermGet:
            return .shortTermValue(try reader.readValue())
        case .shortTermMultiGet:
            return try ShortTermCodec.decodeMultiGetResponse(&reader)
        case .shortTermPut:
            return .empty
        case .shortTermStats:
            return .stats(try Self.decodeStatistics(&reader))
        case .episodicAppend:
            return try EpisodicCodec.decodeReceipts(&reader)
        case .episodicReadRange:
            let episodes = try EpisodicCodec.decodeEpisodes(&reader)
            let hasNext = try reader.readFlag("has next")
            return .episodePage(episodes: episodes, next: hasNext ? try WireEpisodeRange.decode(&reader) : nil)
        case .episodicScan:
            let episodes = try EpisodicCodec.decodeEpisodes(&reader)
            return .episodeScanPage(episodes: episodes, nextPosition: try reader.read(UInt64.self, "next position"), isAtEnd: try reader.readFlag("at end"))
        case .episodicFollow:
            let nextPosition = try reader.read(UInt64.self, "next position")
            guard header.flags.contains(.more) else { return .followEnd(nextPosition: nextPosition) }
            return .followPush(nextPosition: nextPosition, episodes: try EpisodicCodec.decodeEpisodes(&reader))
        case .leadUpsert, .leadGet, .leadGetByEmail, .leadQuery, .campaignUpsert, .campaignGet, .campaignQuery,
             .metricAppend, .campaignSummary, .activeCampaignSummaries, .campaignHourly, .leadUpsertBatch, .campaignUpsertBatch:
            return try decodeRecords(header.opcode, &reader)
        case .consolidate, .eraseNamespace, .eraseLead, .leadEngagement:
            return try LifecycleCodec.decodeResponse(header.opcode, &reader)
        case .longTermDelete, .semanticDelete, .shortTermDelete, .shortTermTouch, .episodicUnfollow, .leadDelete, .campaignDelete:
            return .existed(try reader.readFlag("existed"))
        case .longTermScan:
            let count = Int(try reader.read(UInt32.self, "count"))
            var entries: [WireEntry] = []
            for _ in 0..<count {
                entries.append(WireEntry(key: try reader.readKey(), version: try reader.read(UInt64.self, "version"), value: try reader.readValue()))
            }
            let resume = try reader.readKey("resume key")
            return .longTermPage(entries: entries, resumeAfter: resume.isEmpty ? nil : resume)
        case .semanticGet:
            return .fact(version: try reader.read(UInt64.self, "version"), fact: try WireFact.decode(&reader))
        case .semanticScan:
            let count = Int(try reader.read(UInt32.self, "count"))
            var facts: [WireStoredFact] = []
            for _ in 0..<count {
                facts.append(WireStoredFact(id: try reader.readFactID(), version: try reader.read(UInt64.self, "version"), fact: try WireFact.decode(&reader)))
            }
            let hasResume = try reader.readFlag("has resume")
            return .semanticPage(facts: facts, resumeAfter: hasResume ? try reader.readFactID() : nil)
        default:
            throw reader.failure("a response to opcode \(header.opcode) that this client does not know")
        }
    }
}
