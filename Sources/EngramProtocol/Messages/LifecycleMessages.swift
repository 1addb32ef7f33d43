import NIOCore

/// What an erase did (docs/PROTOCOL.md, "Lifecycle", `erasure report`): the store's
/// `ErasureReport` on the wire.
public struct WireErasureReport: Sendable, Hashable {
    public var deletedKeyCount: UInt64 = 0
    public var deletedLeadRecordCount: UInt64 = 0
    public var rewrittenSegmentCount: UInt64 = 0
    public var droppedEpisodeCount: UInt64 = 0
    public var droppedDamagedBlockCount: UInt64 = 0
    public var rekeyedIndexEntryCount: UInt64 = 0
    public var finishedNamespaceCount: UInt64 = 0
    public var finishedLeadCount: UInt64 = 0
    public var commandCount: UInt64 = 0
    public var longestCommandMicroseconds: UInt64 = 0
    public var elapsedMicroseconds: UInt64 = 0
    public var isComplete = true

    public init() {}

    /// Eleven u64 fields and a u8.
    public static let byteCount = 11 * 8 + 1

    public func encode(into buffer: inout ByteBuffer) {
        for value in [deletedKeyCount, deletedLeadRecordCount, rewrittenSegmentCount, droppedEpisodeCount, droppedDamagedBlockCount,
                      rekeyedIndexEntryCount, finishedNamespaceCount, finishedLeadCount, commandCount, longestCommandMicroseconds, elapsedMicroseconds] {
            buffer.writeInteger(value, endianness: .little)
        }
        buffer.writeInteger(isComplete ? UInt8(1) : 0)
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireErasureReport {
        var report = WireErasureReport()
        report.deletedKeyCount = try reader.read(UInt64.self, "deleted keys")
        report.deletedLeadRecordCount = try reader.read(UInt64.self, "deleted lead records")
        report.rewrittenSegmentCount = try reader.read(UInt64.self, "rewritten segments")
        report.droppedEpisodeCount = try reader.read(UInt64.self, "dropped episodes")
        report.droppedDamagedBlockCount = try reader.read(UInt64.self, "dropped damaged blocks")
        report.rekeyedIndexEntryCount = try reader.read(UInt64.self, "rekeyed index entries")
        report.finishedNamespaceCount = try reader.read(UInt64.self, "finished namespaces")
        report.finishedLeadCount = try reader.read(UInt64.self, "finished leads")
        report.commandCount = try reader.read(UInt64.self, "commands")
        report.longestCommandMicroseconds = try reader.read(UInt64.self, "longest command")
        report.elapsedMicroseconds = try reader.read(UInt64.self, "elapsed")
        report.isComplete = try LifecycleCodec.readFlag(&reader, "complete")
        return report
    }
}

/// What a consolidation pass did (docs/PROTOCOL.md, "Lifecycle", `consolidation report`).
public struct WireConsolidationReport: Sendable, Hashable {
    public var expiredItemCount: UInt64 = 0
    public var foldedEventCount: UInt64 = 0
    public var updatedLeadCount: UInt64 = 0
    public var trimmedSegmentCount: UInt64 = 0
    public var commandCount: UInt64 = 0
    public var longestCommandMicroseconds: UInt64 = 0
    public var elapsedMicroseconds: UInt64 = 0
    public var moreWorkRemains = false
    /// The pass's steps on interrupted erasures; nil when none was pending.
    public var erasure: WireErasureReport? = nil

    public init() {}

    public func encode(into buffer: inout ByteBuffer) {
        for value in [expiredItemCount, foldedEventCount, updatedLeadCount, trimmedSegmentCount, commandCount, longestCommandMicroseconds, elapsedMicroseconds] {
            buffer.writeInteger(value, endianness: .little)
        }
        buffer.writeInteger(moreWorkRemains ? UInt8(1) : 0)
        buffer.writeInteger(erasure == nil ? UInt8(0) : 1)
        erasure?.encode(into: &buffer)
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireConsolidationReport {
        var report = WireConsolidationReport()
        report.expiredItemCount = try reader.read(UInt64.self, "expired items")
        report.foldedEventCount = try reader.read(UInt64.self, "folded events")
        report.updatedLeadCount = try reader.read(UInt64.self, "updated leads")
        report.trimmedSegmentCount = try reader.read(UInt64.self, "trimmed segments")
        report.commandCount = try reader.read(UInt64.self, "commands")
        report.longestCommandMicroseconds = try reader.read(UInt64.self, "longest command")
        report.elapsedMicroseconds = try reader.read(UInt64.self, "elapsed")
        report.moreWorkRemains = try LifecycleCodec.readFlag(&reader, "more work remains")
        if try LifecycleCodec.readFlag(&reader, "has erasure") {
            report.erasure = try WireErasureReport.decode(&reader)
        }
        return report
    }
}

/// A lead engagement summary (docs/LIFECYCLE.md, "`lead_engagement`"), the same 56 bytes the
/// store keeps.
public struct WireLeadEngagement: Sendable, Hashable {
    public static let byteCount = 56
    public static let format: UInt8 = 1

    public var touches: UInt64
    public var opens: UInt64
    public var clicks: UInt64
    public var conversions: UInt64
    public var lastContactMicroseconds: Int64
    /// 0 none, 1 email, 2 web.
    public var lastChannel: UInt8
    public var lastPosition: UInt64

    public init(touches: UInt64, opens: UInt64, clicks: UInt64, conversions: UInt64, lastContactMicroseconds: Int64, lastChannel: UInt8, lastPosition: UInt64) {
        self.touches = touches
        self.opens = opens
        self.clicks = clicks
        self.conversions = conversions
        self.lastContactMicroseconds = lastContactMicroseconds
        self.lastChannel = lastChannel
        self.lastPosition = lastPosition
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.format)
        buffer.writeInteger(lastChannel)
        buffer.writeRepeatingByte(0, count: 6)
        for value in [touches, opens, clicks, conversions] { buffer.writeInteger(value, endianness: .little) }
        buffer.writeInteger(lastContactMicroseconds, endianness: .little)
        buffer.writeInteger(lastPosition, endianness: .little)
    }

    static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireLeadEngagement {
        let format = try reader.read(UInt8.self, "format")
        guard format == Self.format else { throw reader.failure("engagement format \(format) is not \(Self.format)") }
        let channel = try reader.read(UInt8.self, "last channel")
        let reserved = try reader.readBytes(6, "reserved")
        guard reserved.allSatisfy({ $0 == 0 }) else { throw reader.failure("engagement reserved bytes are not zero") }
        return WireLeadEngagement(
            touches: try reader.read(UInt64.self, "touches"), opens: try reader.read(UInt64.self, "opens"),
            clicks: try reader.read(UInt64.self, "clicks"), conversions: try reader.read(UInt64.self, "conversions"),
            lastContactMicroseconds: try reader.read(Int64.self, "last contact"), lastChannel: channel,
            lastPosition: try reader.read(UInt64.self, "last position"))
    }
}

/// Request and response bodies of the lifecycle opcodes (`0x07xx`).
enum LifecycleCodec {
    static func readFlag(_ reader: inout BodyReader, _ field: String) throws(ProtocolError) -> Bool {
        let value = try reader.read(UInt8.self, field)
        guard value <= 1 else { throw reader.failure("\(field) is \(value), not 0 or 1") }
        return value == 1
    }

    static func decodeRequest(_ opcode: Opcode, _ reader: inout BodyReader) throws(ProtocolError) -> Request {
        switch opcode {
        case .consolidate:
            return .consolidate
        case .eraseNamespace:
            return .eraseNamespace(namespace: try reader.readNamespace())
        case .eraseLead:
            return .eraseLead(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .leadEngagement:
            return .leadEngagement(namespace: try reader.readNamespace(), id: try reader.readFactID())
        default:
            preconditionFailure("\(opcode) is not a lifecycle opcode")
        }
    }

    static func decodeResponse(_ opcode: Opcode, _ reader: inout BodyReader) throws(ProtocolError) -> Response {
        switch opcode {
        case .consolidate:
            return .consolidation(try WireConsolidationReport.decode(&reader))
        case .eraseNamespace, .eraseLead:
            return .erasure(try WireErasureReport.decode(&reader))
        case .leadEngagement:
            return .engagement(try WireLeadEngagement.decode(&reader))
        default:
            preconditionFailure("\(opcode) is not a lifecycle opcode")
        }
    }
}
