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
        case .failure(_, let message):
            ErrorBody(message: message).encode(into: &buffer)
        }
    }

    /// The status the response frame carries.
    public var status: Status {
        if case .failure(let status, _) = self { return status }
        return .ok
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
            let count = Int(try reader.read(UInt16.self, "count"))
            var statistics: [Statistic] = []
            for _ in 0..<count {
                let name = try reader.readString(Int(try reader.read(UInt8.self, "name length")), "name")
                statistics.append(Statistic(name, try reader.read(UInt64.self, "value")))
            }
            return .stats(statistics)
        case .goingAway:
            return .goingAway(requestsRead: try reader.read(UInt64.self, "requests read"))
        case .longTermGet:
            return .value(version: try reader.read(UInt64.self, "version"), value: try reader.readValue())
        case .longTermPut, .longTermCompareAndSet, .semanticPut:
            return .version(try reader.read(UInt64.self, "version"))
        case .longTermDelete, .semanticDelete:
            return .existed(try reader.read(UInt8.self, "existed") != 0)
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
            let hasResume = try reader.read(UInt8.self, "has resume")
            return .semanticPage(facts: facts, resumeAfter: hasResume == 1 ? try reader.readFactID() : nil)
        default:
            throw reader.failure("a response to opcode \(header.opcode) that this client does not know")
        }
    }
}
