import NIOCore

/// Lead and campaign ids travel as UUIDs in RFC 4122 byte order, the same 16 bytes as a fact id.
public typealias WireUUID = FactID

/// An episode to append (docs/PROTOCOL.md, "Episodic memory", `new episode`).
public struct WireNewEpisode: Sendable, Hashable {
    public var agent: String
    public var kind: UInt16
    public var lead: WireUUID?
    public var campaign: WireUUID?
    public var body: [UInt8]

    public init(agent: String, kind: UInt16, lead: WireUUID? = nil, campaign: WireUUID? = nil, body: [UInt8]) {
        self.agent = agent
        self.kind = kind
        self.lead = lead
        self.campaign = campaign
        self.body = body
    }
}

/// A stored episode as reads, scans and follows carry it (`episode`).
public struct WireEpisode: Sendable, Hashable {
    public var position: UInt64
    public var sequence: UInt64
    public var timestampMicroseconds: Int64
    public var agent: String
    public var kind: UInt16
    public var lead: WireUUID?
    public var campaign: WireUUID?
    public var body: [UInt8]

    public init(position: UInt64, sequence: UInt64, timestampMicroseconds: Int64, agent: String, kind: UInt16, lead: WireUUID? = nil, campaign: WireUUID? = nil, body: [UInt8]) {
        self.position = position
        self.sequence = sequence
        self.timestampMicroseconds = timestampMicroseconds
        self.agent = agent
        self.kind = kind
        self.lead = lead
        self.campaign = campaign
        self.body = body
    }

    /// Bytes the episode takes in a response body.
    public var wireByteCount: Int {
        8 + 8 + 8 + 1 + agent.utf8.count + 2 + 1 + (lead == nil ? 0 : 16) + (campaign == nil ? 0 : 16) + 4 + body.count
    }
}

/// The numbers the server gave one appended episode (`receipt`).
public struct WireEpisodeReceipt: Sendable, Hashable {
    public var sequence: UInt64
    public var timestampMicroseconds: Int64
    public var position: UInt64

    public init(sequence: UInt64, timestampMicroseconds: Int64, position: UInt64) {
        self.sequence = sequence
        self.timestampMicroseconds = timestampMicroseconds
        self.position = position
    }
}

/// Which of an agent's episodes a range read wants: sequence and timestamp both inside their
/// inclusive bounds (`range`).
public struct WireEpisodeRange: Sendable, Hashable {
    public var sequences: ClosedRange<UInt64>
    /// Microseconds since 1970.
    public var time: ClosedRange<Int64>

    public init(sequences: ClosedRange<UInt64> = 1...UInt64.max, time: ClosedRange<Int64> = Int64.min...Int64.max) {
        self.sequences = sequences
        self.time = time
    }

    public static let all = WireEpisodeRange()
    public static func sequences(_ range: ClosedRange<UInt64>) -> WireEpisodeRange { WireEpisodeRange(sequences: range) }
    public static func time(_ range: ClosedRange<Int64>) -> WireEpisodeRange { WireEpisodeRange(time: range) }

    static let byteCount = 32

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(sequences.lowerBound, endianness: .little)
        buffer.writeInteger(sequences.upperBound, endianness: .little)
        buffer.writeInteger(time.lowerBound, endianness: .little)
        buffer.writeInteger(time.upperBound, endianness: .little)
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireEpisodeRange {
        let sequenceLow = try reader.read(UInt64.self, "sequence low")
        let sequenceHigh = try reader.read(UInt64.self, "sequence high")
        let timeLow = try reader.read(Int64.self, "time low")
        let timeHigh = try reader.read(Int64.self, "time high")
        // A reversed pair is not a range at all: the body does not match its layout.
        guard sequenceLow <= sequenceHigh else { throw ProtocolError.reversedRange("sequence", "\(sequenceLow)", "\(sequenceHigh)", reader) }
        guard timeLow <= timeHigh else { throw ProtocolError.reversedRange("time", "\(timeLow)", "\(timeHigh)", reader) }
        return WireEpisodeRange(sequences: sequenceLow...sequenceHigh, time: timeLow...timeHigh)
    }
}

public enum WireEpisodeOrder: UInt8, Sendable, Hashable {
    case oldestFirst = 0
    case newestFirst = 1
}

extension ProtocolError {
    static func reversedRange(_ field: String, _ low: String, _ high: String, _ reader: BodyReader) -> ProtocolError {
        reader.failure("\(field) low \(low) is above \(field) high \(high)")
    }
}

enum EpisodicCodec {
    static let flagLead: UInt8 = 1
    static let flagCampaign: UInt8 = 2

    static func writeAgent(_ agent: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(truncatingIfNeeded: agent.utf8.count))
        buffer.writeString(agent)
    }

    static func readAgent(_ reader: inout BodyReader, _ field: String = "agent") throws(ProtocolError) -> String {
        let length = Int(try reader.read(UInt8.self, "\(field) length"))
        return try reader.readString(length, field)
    }

    static func writeHeader(kind: UInt16, lead: WireUUID?, campaign: WireUUID?, into buffer: inout ByteBuffer) {
        buffer.writeInteger(kind, endianness: .little)
        buffer.writeInteger((lead == nil ? 0 : flagLead) | (campaign == nil ? 0 : flagCampaign))
        if let lead { buffer.writeBytes(lead.bytes) }
        if let campaign { buffer.writeBytes(campaign.bytes) }
    }

    static func readHeader(_ reader: inout BodyReader) throws(ProtocolError) -> (kind: UInt16, lead: WireUUID?, campaign: WireUUID?) {
        let kind = try reader.read(UInt16.self, "kind")
        let flags = try reader.read(UInt8.self, "header flags")
        guard flags & ~(flagLead | flagCampaign) == 0 else { throw reader.failure("header flags 0x\(byteHex(flags)) set reserved bits") }
        let lead = flags & flagLead != 0 ? WireUUID(bytes: try reader.readBytes(16, "lead id")) : nil
        let campaign = flags & flagCampaign != 0 ? WireUUID(bytes: try reader.readBytes(16, "campaign id")) : nil
        return (kind, lead, campaign)
    }

    static func encode(_ episode: WireNewEpisode, into buffer: inout ByteBuffer) {
        writeAgent(episode.agent, into: &buffer)
        writeHeader(kind: episode.kind, lead: episode.lead, campaign: episode.campaign, into: &buffer)
        buffer.writeValue(episode.body)
    }

    static func decodeNewEpisode(_ reader: inout BodyReader) throws(ProtocolError) -> WireNewEpisode {
        let agent = try readAgent(&reader)
        let header = try readHeader(&reader)
        return WireNewEpisode(agent: agent, kind: header.kind, lead: header.lead, campaign: header.campaign, body: try reader.readValue("body"))
    }

    static func encode(_ episode: WireEpisode, into buffer: inout ByteBuffer) {
        buffer.writeInteger(episode.position, endianness: .little)
        buffer.writeInteger(episode.sequence, endianness: .little)
        buffer.writeInteger(episode.timestampMicroseconds, endianness: .little)
        writeAgent(episode.agent, into: &buffer)
        writeHeader(kind: episode.kind, lead: episode.lead, campaign: episode.campaign, into: &buffer)
        buffer.writeValue(episode.body)
    }

    static func decodeEpisode(_ reader: inout BodyReader) throws(ProtocolError) -> WireEpisode {
        let position = try reader.read(UInt64.self, "position")
        let sequence = try reader.read(UInt64.self, "sequence")
        let timestamp = try reader.read(Int64.self, "timestamp")
        let agent = try readAgent(&reader)
        let header = try readHeader(&reader)
        return WireEpisode(position: position, sequence: sequence, timestampMicroseconds: timestamp, agent: agent, kind: header.kind, lead: header.lead, campaign: header.campaign, body: try reader.readValue("body"))
    }

    /// The smallest encoded episode: a count the body cannot hold is malformed before any array
    /// is reserved for it.
    static let episodeBytesMin = 8 + 8 + 8 + 1 + 2 + 1 + 4
    static let newEpisodeBytesMin = 1 + 2 + 1 + 4

    static func encodeEpisodes(_ episodes: [WireEpisode], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(truncatingIfNeeded: episodes.count), endianness: .little)
        for episode in episodes { encode(episode, into: &buffer) }
    }

    static func decodeEpisodes(_ reader: inout BodyReader) throws(ProtocolError) -> [WireEpisode] {
        let count = Int(try reader.read(UInt32.self, "count"))
        guard count <= reader.remaining / episodeBytesMin else {
            throw reader.failure("\(count) episodes need at least \(count * episodeBytesMin) bytes, \(reader.remaining) remain")
        }
        var episodes: [WireEpisode] = []
        episodes.reserveCapacity(count)
        for _ in 0..<count { episodes.append(try decodeEpisode(&reader)) }
        return episodes
    }

    // MARK: Requests

    static func encodeAppend(_ namespace: String, _ episodes: [WireNewEpisode], into buffer: inout ByteBuffer) {
        buffer.writeNamespace(namespace)
        buffer.writeInteger(UInt16(truncatingIfNeeded: episodes.count), endianness: .little)
        for episode in episodes { encode(episode, into: &buffer) }
    }

    static func decodeAppend(_ reader: inout BodyReader) throws(ProtocolError) -> Request {
        let namespace = try reader.readNamespace()
        let count = Int(try reader.read(UInt16.self, "count"))
        guard count <= reader.remaining / newEpisodeBytesMin else {
            throw reader.failure("\(count) episodes need at least \(count * newEpisodeBytesMin) bytes, \(reader.remaining) remain")
        }
        var episodes: [WireNewEpisode] = []
        episodes.reserveCapacity(count)
        for _ in 0..<count { episodes.append(try decodeNewEpisode(&reader)) }
        return .episodicAppend(namespace: namespace, episodes: episodes)
    }

    static func encodeFollow(_ namespace: String, _ from: UInt64, _ agents: [String], _ kinds: [UInt16], into buffer: inout ByteBuffer) {
        buffer.writeNamespace(namespace)
        buffer.writeInteger(from, endianness: .little)
        buffer.writeInteger(UInt16(truncatingIfNeeded: agents.count), endianness: .little)
        for agent in agents { writeAgent(agent, into: &buffer) }
        buffer.writeInteger(UInt16(truncatingIfNeeded: kinds.count), endianness: .little)
        for kind in kinds { buffer.writeInteger(kind, endianness: .little) }
    }

    static func decodeFollow(_ reader: inout BodyReader) throws(ProtocolError) -> Request {
        let namespace = try reader.readNamespace()
        let from = try reader.read(UInt64.self, "from position")
        let agentCount = Int(try reader.read(UInt16.self, "agent count"))
        guard agentCount <= reader.remaining else { throw reader.failure("\(agentCount) agents need at least \(agentCount) bytes, \(reader.remaining) remain") }
        var agents: [String] = []
        agents.reserveCapacity(agentCount)
        for index in 0..<agentCount { agents.append(try readAgent(&reader, "agent \(index)")) }
        let kindCount = Int(try reader.read(UInt16.self, "kind count"))
        guard kindCount * 2 <= reader.remaining else { throw reader.failure("\(kindCount) kinds need \(kindCount * 2) bytes, \(reader.remaining) remain") }
        var kinds: [UInt16] = []
        kinds.reserveCapacity(kindCount)
        for index in 0..<kindCount { kinds.append(try reader.read(UInt16.self, "kind \(index)")) }
        return .episodicFollow(namespace: namespace, from: from, agents: agents, kinds: kinds)
    }

    // MARK: Responses

    static func decodeReceipts(_ reader: inout BodyReader) throws(ProtocolError) -> Response {
        let count = Int(try reader.read(UInt16.self, "count"))
        guard count * 24 <= reader.remaining else { throw reader.failure("\(count) receipts need \(count * 24) bytes, \(reader.remaining) remain") }
        var receipts: [WireEpisodeReceipt] = []
        receipts.reserveCapacity(count)
        for _ in 0..<count {
            receipts.append(WireEpisodeReceipt(sequence: try reader.read(UInt64.self, "sequence"), timestampMicroseconds: try reader.read(Int64.self, "timestamp"), position: try reader.read(UInt64.self, "position")))
        }
        return .receipts(receipts)
    }
}
