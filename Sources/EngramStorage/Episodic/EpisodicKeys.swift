/// The keys and values of the `episodic` LMDB database (docs/EPISODIC.md, "The LMDB keyspace").
/// Every key starts with a byte naming its kind; integers in keys are big-endian so that byte order
/// is numeric order, integers in values little-endian.
enum EpisodicKey {
    static let state: UInt8 = 0
    static let segment: UInt8 = 1
    static let block: UInt8 = 2
    static let piece: UInt8 = 3
    static let agent: UInt8 = 4
    static let sequenceIndex: UInt8 = 5
    static let timeIndex: UInt8 = 6

    static let stateKey: [UInt8] = [state]

    /// `[kind][u64 BE]`: a segment, a block or a piece.
    static func numbered(_ kind: UInt8, _ number: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: 9)
        writer.write(kind)
        writer.writeBigEndian(number)
        return writer.bytes
    }

    /// The number after the kind byte of a `numbered` key.
    static func number(of key: UnsafeRawBufferPointer) -> UInt64 {
        precondition(key.count == 9, "a numbered episodic key of \(key.count) bytes")
        return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
    }

    /// `[kind][u8 nsBytes][namespace][u8 agentBytes][agent]`, the start of every per-agent key.
    static func agentPrefix(_ kind: UInt8, namespace: UnsafeRawBufferPointer, agent: UnsafeRawBufferPointer, capacity: Int = 0) -> ByteWriter {
        var writer = ByteWriter(capacity: 3 + namespace.count + agent.count + capacity)
        writer.write(kind)
        writer.write(UInt8(namespace.count))
        writer.write(contentsOf: namespace)
        writer.write(UInt8(agent.count))
        writer.write(contentsOf: agent)
        return writer
    }

    static func sequenceIndex(namespace: UnsafeRawBufferPointer, agent: UnsafeRawBufferPointer, sequence: UInt64) -> [UInt8] {
        var writer = agentPrefix(sequenceIndex, namespace: namespace, agent: agent, capacity: 8)
        writer.writeBigEndian(sequence)
        return writer.bytes
    }

    static func timeIndex(namespace: UnsafeRawBufferPointer, agent: UnsafeRawBufferPointer, timestampMicroseconds: Int64, sequence: UInt64) -> [UInt8] {
        var writer = agentPrefix(timeIndex, namespace: namespace, agent: agent, capacity: 16)
        writer.writeBigEndian(orderedBits(timestampMicroseconds))
        writer.writeBigEndian(sequence)
        return writer.bytes
    }

    /// A signed time as unsigned bits that sort in the same order (offset binary).
    static func orderedBits(_ value: Int64) -> UInt64 { UInt64(bitPattern: value) ^ (1 << 63) }
    static func timestamp(fromOrderedBits bits: UInt64) -> Int64 { Int64(bitPattern: bits ^ (1 << 63)) }
}

/// Fixed-layout rows of the episodic keyspace. Each checks its size when decoded, so a damaged or
/// foreign value is `.corrupt`, never misread.
protocol EpisodicRow {
    static var byteCount: Int { get }
    func encode(into writer: inout ByteWriter)
    static func decode(from reader: inout ByteReader) throws(EngramError) -> Self
}

extension EpisodicRow {
    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: Self.byteCount)
        encode(into: &writer)
        precondition(writer.count == Self.byteCount, "\(Self.self) encoded to \(writer.count) bytes, expected \(Self.byteCount)")
        return writer.bytes
    }

    static func decode(_ value: UnsafeRawBufferPointer) throws(EngramError) -> Self {
        var reader = ByteReader(value, source: "episodic table")
        guard value.count == byteCount else { throw reader.failure("a \(Self.self) of \(value.count) bytes, expected \(byteCount)") }
        return try decode(from: &reader)
    }
}

/// Key `00`: where the log stands.
struct EpisodicState: EpisodicRow, Equatable {
    static let byteCount = 48
    /// The position the next episode gets.
    var nextPosition: UInt64 = 1
    /// The segment being appended, 0 before the first episode.
    var activeSegment: UInt64 = 0
    /// The address of the open block, 0 when none is open.
    var openBlock: UInt64 = 0
    var openRawBytes: UInt32 = 0
    var openRecordCount: UInt32 = 0
    var openMinTimestamp: Int64 = 0
    var openMaxTimestamp: Int64 = 0

    func encode(into writer: inout ByteWriter) {
        writer.write(nextPosition)
        writer.write(activeSegment)
        writer.write(openBlock)
        writer.write(openRawBytes)
        writer.write(openRecordCount)
        writer.write(openMinTimestamp)
        writer.write(openMaxTimestamp)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicState {
        EpisodicState(
            nextPosition: try reader.read(UInt64.self), activeSegment: try reader.read(UInt64.self),
            openBlock: try reader.read(UInt64.self), openRawBytes: try reader.read(UInt32.self),
            openRecordCount: try reader.read(UInt32.self), openMinTimestamp: try reader.read(Int64.self),
            openMaxTimestamp: try reader.read(Int64.self))
    }
}

/// Key `01 segment`: one segment file.
struct EpisodicSegmentRow: EpisodicRow, Equatable {
    static let byteCount = 41
    var firstPosition: UInt64
    var generation: UInt32
    var sealed: Bool
    /// The end of the last block written (sealed) in the file.
    var endOffset: UInt64
    var blockCount: UInt32
    var minTimestamp: Int64
    var maxTimestamp: Int64

    func encode(into writer: inout ByteWriter) {
        writer.write(firstPosition)
        writer.write(generation)
        writer.write(UInt8(sealed ? 1 : 0))
        writer.write(endOffset)
        writer.write(blockCount)
        writer.write(minTimestamp)
        writer.write(maxTimestamp)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicSegmentRow {
        EpisodicSegmentRow(
            firstPosition: try reader.read(UInt64.self), generation: try reader.read(UInt32.self),
            sealed: try reader.readUInt8() != 0, endOffset: try reader.read(UInt64.self),
            blockCount: try reader.read(UInt32.self), minTimestamp: try reader.read(Int64.self),
            maxTimestamp: try reader.read(Int64.self))
    }
}

/// Key `02 address`: one block. `codec` is `EpisodicFormat.openBlockCodec` while it is open.
struct EpisodicBlockRow: EpisodicRow, Equatable {
    static let byteCount = 53
    var segment: UInt64
    var offset: UInt64
    var storedBytes: UInt32
    var rawBytes: UInt32
    var codec: UInt8
    var recordCount: UInt32
    var lastPosition: UInt64
    var minTimestamp: Int64
    var maxTimestamp: Int64

    var isOpen: Bool { codec == EpisodicFormat.openBlockCodec }

    func encode(into writer: inout ByteWriter) {
        writer.write(segment)
        writer.write(offset)
        writer.write(storedBytes)
        writer.write(rawBytes)
        writer.write(codec)
        writer.write(recordCount)
        writer.write(lastPosition)
        writer.write(minTimestamp)
        writer.write(maxTimestamp)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicBlockRow {
        EpisodicBlockRow(
            segment: try reader.read(UInt64.self), offset: try reader.read(UInt64.self),
            storedBytes: try reader.read(UInt32.self), rawBytes: try reader.read(UInt32.self),
            codec: try reader.readUInt8(), recordCount: try reader.read(UInt32.self),
            lastPosition: try reader.read(UInt64.self), minTimestamp: try reader.read(Int64.self),
            maxTimestamp: try reader.read(Int64.self))
    }
}

/// Key `04 agent`: an agent's last episode, to number the next one.
struct EpisodicAgentRow: EpisodicRow, Equatable {
    static let byteCount = 32
    var lastSequence: UInt64 = 0
    var lastTimestamp: Int64 = .min
    var lastPosition: UInt64 = 0
    /// The address of the block holding the agent's last episode: a new index entry is due when
    /// the agent's next episode lands in another block.
    var lastBlock: UInt64 = 0

    func encode(into writer: inout ByteWriter) {
        writer.write(lastSequence)
        writer.write(lastTimestamp)
        writer.write(lastPosition)
        writer.write(lastBlock)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> EpisodicAgentRow {
        EpisodicAgentRow(
            lastSequence: try reader.read(UInt64.self), lastTimestamp: try reader.read(Int64.self),
            lastPosition: try reader.read(UInt64.self), lastBlock: try reader.read(UInt64.self))
    }
}

extension StoreTransaction {
    func episodicRow<Row: EpisodicRow>(_ table: LMDBDatabase, _ key: [UInt8], as type: Row.Type) throws(EngramError) -> Row? {
        let value = try key.withBytes { (key) throws(EngramError) in try get(table, key) }
        guard let value else { return nil }
        return try Row.decode(value)
    }
}
