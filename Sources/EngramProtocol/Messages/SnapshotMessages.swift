import NIOCore

/// The snapshot opcodes (docs/PROTOCOL.md, "Snapshots and export"): a consistent snapshot of one
/// namespace, held by the server for the connection that opened it and read as streams of chunks.
extension Opcode {
    public static let snapshotOpen = Opcode(rawValue: 0x0601)
    public static let snapshotRead = Opcode(rawValue: 0x0602)
    public static let snapshotClose = Opcode(rawValue: 0x0603)

    public static let snapshotRequests: [Opcode] = [.snapshotOpen, .snapshotRead, .snapshotClose]

    /// Whether the opcode is one of the snapshot range, which its own handler serves.
    public var isSnapshot: Bool { rawValue & 0xFF00 == 0x0600 }

    /// The snake_case name of a snapshot opcode, nil for others.
    public var snapshotName: String? {
        switch self {
        case .snapshotOpen: "snapshot_open"
        case .snapshotRead: "snapshot_read"
        case .snapshotClose: "snapshot_close"
        default: nil
        }
    }
}

/// What a snapshot read streams. Row streams carry the records changed after `since`; key
/// streams carry every live key, for finding deletes; the aggregate streams carry what an export
/// needs before it loads (docs/PROTOCOL.md, "Streams").
public enum SnapshotStream: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case leads = 1
    case campaigns = 2
    case campaignMetricEvents = 3
    case longTerm = 4
    case semantic = 5
    case episodes = 6
    case leadIDs = 17
    case campaignIDs = 18
    case campaignMetricSequences = 19
    case longTermKeys = 20
    case semanticIDs = 21
    case episodicRanges = 22
    case leadMonths = 32
    case rowCounts = 33

    /// Whether `since` selects rows (row streams); other streams require it to be 0.
    public var takesSince: Bool { rawValue <= SnapshotStream.episodes.rawValue }

    public var description: String {
        switch self {
        case .leads: "leads"
        case .campaigns: "campaigns"
        case .campaignMetricEvents: "campaign_metric_events"
        case .longTerm: "long_term"
        case .semantic: "semantic"
        case .episodes: "episodes"
        case .leadIDs: "lead_ids"
        case .campaignIDs: "campaign_ids"
        case .campaignMetricSequences: "campaign_metric_sequences"
        case .longTermKeys: "long_term_keys"
        case .semanticIDs: "semantic_ids"
        case .episodicRanges: "episodic_ranges"
        case .leadMonths: "lead_months"
        case .rowCounts: "row_counts"
        }
    }
}

/// `snapshot open` request: `[namespace]`.
public struct SnapshotOpenRequest: Sendable, Hashable {
    public var namespace: String

    public init(namespace: String) { self.namespace = namespace }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeNamespace(namespace)
    }

    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> SnapshotOpenRequest {
        let request = SnapshotOpenRequest(namespace: try reader.readNamespace())
        try reader.finish()
        return request
    }
}

/// `snapshot open` response.
///
/// ```
/// [u64 snapshot id][u64 lsn][u64 version][u64 episodic position][u32 hold seconds max][u32 chunk bytes max]
/// ```
public struct SnapshotOpenResponse: Sendable, Hashable {
    /// Names the snapshot in later requests on this connection.
    public var snapshotID: UInt64
    public var lsn: UInt64
    public var version: UInt64
    public var episodicPosition: UInt64
    /// The server closes the snapshot this long after it opened it.
    public var holdSecondsMax: UInt32
    /// A chunk's rows stop before this many bytes, unless its first row alone is larger.
    public var chunkBytesMax: UInt32

    public init(snapshotID: UInt64, lsn: UInt64, version: UInt64, episodicPosition: UInt64, holdSecondsMax: UInt32, chunkBytesMax: UInt32) {
        self.snapshotID = snapshotID
        self.lsn = lsn
        self.version = version
        self.episodicPosition = episodicPosition
        self.holdSecondsMax = holdSecondsMax
        self.chunkBytesMax = chunkBytesMax
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(snapshotID, endianness: .little)
        buffer.writeInteger(lsn, endianness: .little)
        buffer.writeInteger(version, endianness: .little)
        buffer.writeInteger(episodicPosition, endianness: .little)
        buffer.writeInteger(holdSecondsMax, endianness: .little)
        buffer.writeInteger(chunkBytesMax, endianness: .little)
    }

    /// Bytes past the known fields are ignored: later versions may append.
    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> SnapshotOpenResponse {
        SnapshotOpenResponse(
            snapshotID: try reader.read(UInt64.self, "snapshot id"), lsn: try reader.read(UInt64.self, "lsn"),
            version: try reader.read(UInt64.self, "version"), episodicPosition: try reader.read(UInt64.self, "episodic position"),
            holdSecondsMax: try reader.read(UInt32.self, "hold seconds max"), chunkBytesMax: try reader.read(UInt32.self, "chunk bytes max"))
    }
}

/// `snapshot read` request: `[u64 snapshot id][u8 stream][u64 since][u32 chunk index]`.
public struct SnapshotReadRequest: Sendable, Hashable {
    public var snapshotID: UInt64
    /// The raw stream number; the server answers `invalidArgument` for one it does not know.
    public var stream: UInt8
    public var since: UInt64
    public var chunkIndex: UInt32

    public init(snapshotID: UInt64, stream: SnapshotStream, since: UInt64 = 0, chunkIndex: UInt32) {
        self.init(snapshotID: snapshotID, rawStream: stream.rawValue, since: since, chunkIndex: chunkIndex)
    }

    public init(snapshotID: UInt64, rawStream: UInt8, since: UInt64, chunkIndex: UInt32) {
        self.snapshotID = snapshotID
        self.stream = rawStream
        self.since = since
        self.chunkIndex = chunkIndex
    }

    public static let byteCount = 21

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(snapshotID, endianness: .little)
        buffer.writeInteger(stream)
        buffer.writeInteger(since, endianness: .little)
        buffer.writeInteger(chunkIndex, endianness: .little)
    }

    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> SnapshotReadRequest {
        let request = SnapshotReadRequest(
            snapshotID: try reader.read(UInt64.self, "snapshot id"), rawStream: try reader.read(UInt8.self, "stream"),
            since: try reader.read(UInt64.self, "since"), chunkIndex: try reader.read(UInt32.self, "chunk index"))
        try reader.finish()
        return request
    }
}

/// `snapshot close` request: `[u64 snapshot id]`; the response is `[u8 existed]`.
public struct SnapshotCloseRequest: Sendable, Hashable {
    public var snapshotID: UInt64

    public init(snapshotID: UInt64) { self.snapshotID = snapshotID }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(snapshotID, endianness: .little)
    }

    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> SnapshotCloseRequest {
        let request = SnapshotCloseRequest(snapshotID: try reader.read(UInt64.self, "snapshot id"))
        try reader.finish()
        return request
    }
}

/// One chunk of a stream, the `snapshot read` response:
///
/// ```
/// [u32 chunk index][u8 flags][u32 row count]{[u32 row length][row]} x row count
/// ```
/// `flags` bit 0: the stream ends with this chunk. Other bits are zero.
public struct SnapshotChunk: Sendable {
    public static let headerBytes = 9
    public static let endFlag: UInt8 = 1

    public var chunkIndex: UInt32
    public var isEnd: Bool
    public var rowCount: Int
    /// The rows, each `[u32 length][bytes]`, as they came off the wire.
    public var rows: ByteBuffer

    public init(chunkIndex: UInt32, isEnd: Bool, rowCount: Int, rows: ByteBuffer) {
        self.chunkIndex = chunkIndex
        self.isEnd = isEnd
        self.rowCount = rowCount
        self.rows = rows
    }

    /// Writes the header with a row count of 0 and no flags; returns the index of the flags byte,
    /// for `patch` once the rows are written behind it.
    public static func writeHeader(chunkIndex: UInt32, into buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(chunkIndex, endianness: .little)
        let flagsIndex = buffer.writerIndex
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(0), endianness: .little)
        return flagsIndex
    }

    public static func patch(_ buffer: inout ByteBuffer, flagsIndex: Int, isEnd: Bool, rowCount: Int) {
        buffer.setInteger(isEnd ? endFlag : 0, at: flagsIndex)
        buffer.setInteger(UInt32(rowCount), at: flagsIndex + 1, endianness: .little)
    }

    /// Decodes the header and checks that the rows are exactly `row count` well-framed rows, so
    /// `forEachRow` can walk them without checks of its own.
    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> SnapshotChunk {
        let chunkIndex = try reader.read(UInt32.self, "chunk index")
        let flags = try reader.read(UInt8.self, "flags")
        guard flags & ~endFlag == 0 else { throw reader.failure("chunk flags 0x\(byteHex(flags)) set reserved bits") }
        let rowCount = Int(try reader.read(UInt32.self, "row count"))
        let rows = try reader.readSlice(reader.remaining, "rows")
        var walk = rows
        for index in 0..<rowCount {
            guard let length = walk.readInteger(endianness: .little, as: UInt32.self), Int(length) <= walk.readableBytes else {
                throw reader.failure("row \(index) of \(rowCount) runs past the end of the chunk")
            }
            walk.moveReaderIndex(forwardBy: Int(length))
        }
        guard walk.readableBytes == 0 else { throw reader.failure("\(walk.readableBytes) bytes after the last of \(rowCount) rows") }
        return SnapshotChunk(chunkIndex: chunkIndex, isEnd: flags & endFlag != 0, rowCount: rowCount, rows: rows)
    }

    /// Calls `body` with each row's bytes, borrowed for the call. The rows were checked by `decode`.
    public func forEachRow<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        let result = rows.withUnsafeReadableBytes { bytes in
            Result { () throws(E) in
                var offset = 0
                for _ in 0..<rowCount {
                    let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    try body(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + length)]))
                    offset += 4 + length
                }
            }
        }
        try result.get()
    }
}
