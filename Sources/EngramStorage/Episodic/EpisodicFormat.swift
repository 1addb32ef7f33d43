/// The byte layouts of the episodic log's files; docs/EPISODIC.md is the specification.
enum EpisodicFormat {
    /// Fixed bytes of a record before its namespace: crc, length, position, sequence, timestamp,
    /// kind, flags and the two name lengths.
    static let recordHeaderBytes = 37
    /// Bytes after a record's length field that are always present.
    static let recordFixedLengthBytes = recordHeaderBytes - 8
    static let blockHeaderBytes = 32
    static let segmentHeaderBytes = 64
    /// Framing of the longest index key around the two names: kind byte, two length bytes, and a
    /// timestamp and a sequence.
    static let indexKeyOverheadBytes = 3 + 16

    static let flagLead: UInt8 = 1
    static let flagCampaign: UInt8 = 2
    static let reservedRecordFlags: UInt8 = ~(flagLead | flagCampaign)

    /// How a block's bytes are stored.
    enum Codec: UInt8 {
        case stored = 0
        case lz4 = 1
        case zstd = 2
    }

    /// The codec byte of an open block's row in LMDB (never written to a file).
    static let openBlockCodec: UInt8 = 255

    /// The largest block a raw size can become: compression that does not shrink is not kept.
    static func blockBytesMax(rawBytes: Int) -> Int { blockHeaderBytes + rawBytes }

    static let directory = "episodic"

    /// `<20-digit number>-<generation>.seg`.
    static func segmentName(number: UInt64, generation: UInt32) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "-" + String(generation) + ".seg"
    }

    /// The number and generation in a segment's file name, or nil for any other name.
    static func parseSegmentName(_ name: String) -> (number: UInt64, generation: UInt32)? {
        guard name.hasSuffix(".seg"), name.utf8.count > 25 else { return nil }
        let stem = name.dropLast(4)
        let parts = stem.split(separator: "-")
        guard parts.count == 2, parts[0].utf8.count == 20,
              let number = UInt64(parts[0]), let generation = UInt32(parts[1]),
              String(generation) == parts[1] else { return nil }
        return (number, generation)
    }
}

/// The 64-byte header at the start of every segment file.
///
/// ```
///  0          8         12          16         24           28      32             40      60      64
///  | "ENGREPIS" | version | headerBytes | number | generation | flags | firstPosition | zeros | crc32c |
/// ```
/// The masked CRC-32C covers bytes 0 to 59.
struct EpisodicSegmentHeader: Equatable {
    static let magic: [UInt8] = Array("ENGREPIS".utf8)
    static let formatVersion: UInt32 = 1

    let number: UInt64
    let generation: UInt32
    let firstPosition: UInt64

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: EpisodicFormat.segmentHeaderBytes)
        writer.write(contentsOf: Self.magic)
        writer.write(Self.formatVersion)
        writer.write(UInt32(EpisodicFormat.segmentHeaderBytes))
        writer.write(number)
        writer.write(generation)
        writer.write(UInt32(0))
        writer.write(firstPosition)
        writer.reserve(20)
        writer.write(CRC32C.mask(CRC32C.checksum(writer.bytes)))
        precondition(writer.count == EpisodicFormat.segmentHeaderBytes, "segment header is \(writer.count) bytes")
        return writer.bytes
    }

    /// Whether `bytes` start like a segment header of another format version: a file this build
    /// must not touch, so the store refuses to open rather than report it as damage.
    static func versionIsUnknown(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 12, Array(bytes[0..<8]) == magic else { return false }
        let version = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
        return version != formatVersion
    }

    /// Checks the magic, then the version (a newer build may lay out the rest differently), then
    /// the checksum, then the fields. Every failure is `.corrupt` with the file and offset.
    static func decode(_ bytes: [UInt8], file: String) throws(EngramError) -> EpisodicSegmentHeader {
        guard bytes.count == EpisodicFormat.segmentHeaderBytes else {
            throw .corrupt("a segment header of \(bytes.count) bytes, expected \(EpisodicFormat.segmentHeaderBytes)", file: file, offset: 0)
        }
        return try bytes.withBytes { (buffer) throws(EngramError) -> EpisodicSegmentHeader in
            var reader = ByteReader(buffer, source: file)
            guard Array(try reader.readSlice(8, "the magic")) == magic else {
                throw .corrupt("not an episodic segment (bad magic)", file: file, offset: 0)
            }
            let version = try reader.read(UInt32.self, "the format version")
            guard version == formatVersion else {
                throw .corrupt("unknown episodic segment format version \(version) (this build reads \(formatVersion)); was it written by a newer build?", file: file, offset: 8)
            }
            let stored = CRC32C.unmask(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 60, as: UInt32.self)))
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<60]))
            guard stored == computed else {
                throw .corrupt("segment header checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))", file: file, offset: 60)
            }
            let headerBytes = try reader.read(UInt32.self, "the header size")
            guard headerBytes == EpisodicFormat.segmentHeaderBytes else {
                throw .corrupt("a segment header size of \(headerBytes), expected \(EpisodicFormat.segmentHeaderBytes)", file: file, offset: 12)
            }
            let number = try reader.read(UInt64.self, "the segment number")
            let generation = try reader.read(UInt32.self, "the generation")
            let flags = try reader.read(UInt32.self, "the flags")
            guard flags == 0 else { throw .corrupt("reserved segment flags \(hex(flags)) are set", file: file, offset: 28) }
            let firstPosition = try reader.read(UInt64.self, "the first position")
            return EpisodicSegmentHeader(number: number, generation: generation, firstPosition: firstPosition)
        }
    }
}
