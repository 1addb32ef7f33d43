/// A block's 32-byte header (docs/EPISODIC.md, "Block").
///
/// ```
///  0      4             8          12     13     14           16              24             32
///  | crc | storedBytes | rawBytes | codec | flags | recordCount | firstPosition | lastPosition | stored bytes |
/// ```
/// The masked CRC-32C covers bytes 4 to the end of the stored bytes.
struct EpisodicBlockHeader: Equatable {
    let storedBytes: Int
    let rawBytes: Int
    let codec: UInt8
    let recordCount: Int
    let firstPosition: UInt64
    let lastPosition: UInt64

    init(storedBytes: Int, rawBytes: Int, codec: UInt8, recordCount: Int, firstPosition: UInt64, lastPosition: UInt64) {
        self.storedBytes = storedBytes
        self.rawBytes = rawBytes
        self.codec = codec
        self.recordCount = recordCount
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
    }

    /// Reads the fields without checking them (recovery's scan checks the whole block after).
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= EpisodicFormat.blockHeaderBytes, "a block header needs \(EpisodicFormat.blockHeaderBytes) bytes, got \(bytes.count)")
        storedBytes = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        rawBytes = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        codec = bytes[12]
        recordCount = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 14, as: UInt16.self)))
        firstPosition = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        lastPosition = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }
}

/// Builds and checks blocks. Compression scratch space is the caller's, so the writer and each
/// reader reuse their own buffers.
enum EpisodicBlock {
    /// How to compress a block being built.
    enum Compression: Equatable {
        case lz4
        case zstd(level: Int32)
    }

    /// Encodes `raw` (whole records) as one block. Keeps the compressed form only if it is smaller.
    static func encode(raw: UnsafeRawBufferPointer, recordCount: Int, firstPosition: UInt64, lastPosition: UInt64, compression: Compression, scratch: inout [UInt8]) -> [UInt8] {
        precondition(recordCount > 0 && recordCount <= Int(UInt16.max), "a block of \(recordCount) records")
        precondition(lastPosition >= firstPosition, "block positions \(firstPosition)...\(lastPosition)")
        let bound = compression == .lz4 ? LZ4Block.bound(raw.count) : ZstdBlock.bound(raw.count)
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let compressedBytes = scratch.withUnsafeMutableBytes { destination in
            switch compression {
            case .lz4: LZ4Block.compress(raw, into: destination)
            case .zstd(let level): ZstdBlock.compress(raw, into: destination, level: level)
            }
        }
        let keepCompressed = compressedBytes < raw.count
        let codec: EpisodicFormat.Codec = keepCompressed ? (compression == .lz4 ? .lz4 : .zstd) : .stored
        let storedBytes = keepCompressed ? compressedBytes : raw.count
        var block = [UInt8](repeating: 0, count: EpisodicFormat.blockHeaderBytes + storedBytes)
        block.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt32(storedBytes).littleEndian, toByteOffset: 4, as: UInt32.self)
            bytes.storeBytes(of: UInt32(raw.count).littleEndian, toByteOffset: 8, as: UInt32.self)
            bytes[12] = codec.rawValue
            bytes[13] = 0
            bytes.storeBytes(of: UInt16(recordCount).littleEndian, toByteOffset: 14, as: UInt16.self)
            bytes.storeBytes(of: firstPosition.littleEndian, toByteOffset: 16, as: UInt64.self)
            bytes.storeBytes(of: lastPosition.littleEndian, toByteOffset: 24, as: UInt64.self)
            let body = UnsafeMutableRawBufferPointer(rebasing: bytes[EpisodicFormat.blockHeaderBytes...])
            if keepCompressed {
                scratch.withUnsafeBytes { body.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<storedBytes])) }
            } else {
                body.copyMemory(from: raw)
            }
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[4...]))
            bytes.storeBytes(of: CRC32C.mask(crc).littleEndian, toByteOffset: 0, as: UInt32.self)
        }
        return block
    }

    /// Checks a whole block read from `file` at `offset` and leaves its raw records in `raw`
    /// (resized; its capacity is reused). `rawBytesMax` bounds the decompressed size before any
    /// memory is given to it. Every failure is `.corrupt` naming the block's file and offset.
    static func decode(_ block: UnsafeRawBufferPointer, file: String, offset: Int64, rawBytesMax: Int, raw: inout [UInt8]) throws(EngramError) -> EpisodicBlockHeader {
        func damaged(_ what: String) -> EngramError { .corrupt("block: \(what)", file: file, offset: offset) }
        guard block.count >= EpisodicFormat.blockHeaderBytes else { throw damaged("\(block.count) bytes, shorter than a block header") }
        let header = EpisodicBlockHeader(block)
        guard header.storedBytes == block.count - EpisodicFormat.blockHeaderBytes else {
            throw damaged("the header says \(header.storedBytes) stored bytes, the block has \(block.count - EpisodicFormat.blockHeaderBytes)")
        }
        let stored = CRC32C.unmask(UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: block[4...]))
        guard stored == computed else { throw damaged("checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))") }
        guard header.rawBytes > 0, header.rawBytes <= rawBytesMax else { throw damaged("a raw size of \(header.rawBytes) bytes, limit \(rawBytesMax)") }
        guard block[13] == 0 else { throw damaged("reserved flags \(block[13]) are set") }
        guard header.recordCount > 0, header.lastPosition >= header.firstPosition else {
            throw damaged("\(header.recordCount) records at positions \(header.firstPosition)...\(header.lastPosition)")
        }
        guard let codec = EpisodicFormat.Codec(rawValue: header.codec) else { throw damaged("unknown codec \(header.codec)") }
        if raw.count > header.rawBytes {
            raw.removeLast(raw.count - header.rawBytes)
        } else if raw.count < header.rawBytes {
            raw.append(contentsOf: repeatElement(0, count: header.rawBytes - raw.count))
        }
        let body = UnsafeRawBufferPointer(rebasing: block[EpisodicFormat.blockHeaderBytes...])
        let decoded = raw.withUnsafeMutableBytes { destination -> Bool in
            switch codec {
            case .stored:
                guard body.count == destination.count else { return false }
                destination.copyMemory(from: body)
                return true
            case .lz4: return LZ4Block.decompress(body, into: destination)
            case .zstd: return ZstdBlock.decompress(body, into: destination)
            }
        }
        guard decoded else { throw damaged("\(codec) bytes that do not decompress to exactly \(header.rawBytes) bytes") }
        return header
    }

    /// Calls `visit` with each record of a decoded block, in order, each checked before it is
    /// shown; stops early when `visit` returns false. Checks that the records fill the block
    /// exactly and agree with its header (the open block, read from its pieces, has no count yet:
    /// `countKnown` false).
    static func forEachRecord(_ raw: UnsafeRawBufferPointer, header: EpisodicBlockHeader, file: String, offset: Int64, countKnown: Bool = true, _ visit: (EpisodeRecordView) throws(EngramError) -> Bool) throws(EngramError) {
        var cursor = 0
        var count = 0
        var previousPosition: UInt64 = 0
        while cursor < raw.count {
            let record = try EpisodeRecordView.parse(raw, at: cursor, file: file, fileOffset: offset)
            guard record.position > previousPosition, record.position >= header.firstPosition, record.position <= header.lastPosition else {
                throw .corrupt("block: record \(count) has position \(record.position), outside \(header.firstPosition)...\(header.lastPosition) or not increasing", file: file, offset: offset)
            }
            previousPosition = record.position
            cursor += record.record.count
            count += 1
            if try !visit(record) { return }
        }
        guard !countKnown || count == header.recordCount else {
            throw .corrupt("block: \(count) records, the header says \(header.recordCount)", file: file, offset: offset)
        }
    }
}
