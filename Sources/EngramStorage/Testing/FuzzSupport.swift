/// Pieces shared by the fuzz entry points (`FuzzEntryPoints`): reading choices from the fuzzer's
/// bytes, and recomputing the checksums that guard a layer, so the fuzzer can reach the checks
/// behind them. docs/TESTING.md gives each target's input format.

/// The fuzzer's bytes, consumed front to back. Reads past the end give nil, which ends a run.
struct FuzzInput {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { bytes = Array(buffer) }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Everything not read yet.
    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }
}

/// A broken promise of a decoder: it accepted bytes and returned something other than what they
/// encode, or reported damage in a form its contract rules out. Traps, so libFuzzer keeps the
/// input as a crash; the message names the target and what disagreed. `fatalError`, because an
/// optimized build drops the message of a `precondition`.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ target: StaticString, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("\(target): \(message())") }
}

/// Checksum fix-ups, each following its layout in docs/ byte for byte.
enum FuzzChecksums {
    static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    static func storeMaskedChecksum(of range: Range<Int>, in bytes: inout [UInt8], at offset: Int) {
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
        withUnsafeBytes(of: CRC32C.mask(crc).littleEndian) { masked in
            for index in 0..<4 { bytes[offset + index] = masked[index] }
        }
    }

    /// Commit-log records from `start`, one after another, while each header's length fits the
    /// bytes: the checksum of each covers bytes 4 to the end of its payload.
    static func fixCommitLogRecords(_ bytes: inout [UInt8], from start: Int = 0) {
        var offset = start
        let headerBytes = CommitLogFormat.headerBytes
        while offset + headerBytes <= bytes.count {
            let length = Int(u32(bytes, at: offset + 4))
            guard length <= bytes.count - offset - headerBytes else { return }
            storeMaskedChecksum(of: (offset + 4)..<(offset + headerBytes + length), in: &bytes, at: offset)
            offset += headerBytes + length
        }
    }

    /// Episode records back to back in `range` (raw block bytes), while each length fits.
    static func fixEpisodeRecords(_ bytes: inout [UInt8], in range: Range<Int>) {
        var offset = range.lowerBound
        while offset + EpisodicFormat.recordHeaderBytes <= range.upperBound {
            let length = Int(u32(bytes, at: offset + 4))
            guard length >= EpisodicFormat.recordFixedLengthBytes, length <= range.upperBound - offset - 8 else { return }
            storeMaskedChecksum(of: (offset + 4)..<(offset + 8 + length), in: &bytes, at: offset)
            offset += 8 + length
        }
    }

    /// One episodic block at `offset` whose stored bytes fit: the records inside first when the
    /// block is stored uncompressed, then the block's own checksum. Returns the block's end, or
    /// nil when its header does not fit or its stored bytes run past the end.
    @discardableResult
    static func fixEpisodicBlock(_ bytes: inout [UInt8], at offset: Int) -> Int? {
        let headerBytes = EpisodicFormat.blockHeaderBytes
        guard offset + headerBytes <= bytes.count else { return nil }
        let storedBytes = Int(u32(bytes, at: offset + 4))
        guard storedBytes <= bytes.count - offset - headerBytes else { return nil }
        let end = offset + headerBytes + storedBytes
        if bytes[offset + 12] == EpisodicFormat.Codec.stored.rawValue {
            fixEpisodeRecords(&bytes, in: (offset + headerBytes)..<end)
        }
        storeMaskedChecksum(of: (offset + 4)..<end, in: &bytes, at: offset)
        return end
    }

    /// A segment file: its header's checksum (bytes 0 to 59, stored at 60), then each block from
    /// offset 64 up to a zero header or the first block that does not fit.
    static func fixEpisodicSegment(_ bytes: inout [UInt8]) {
        let headerBytes = EpisodicFormat.segmentHeaderBytes
        guard bytes.count >= headerBytes else { return }
        storeMaskedChecksum(of: 0..<60, in: &bytes, at: 60)
        var offset = headerBytes
        while offset + EpisodicFormat.blockHeaderBytes <= bytes.count,
              !bytes[offset..<(offset + EpisodicFormat.blockHeaderBytes)].allSatisfy({ $0 == 0 }),
              let end = fixEpisodicBlock(&bytes, at: offset) {
            offset = end
        }
    }

    /// A checkpoint file: the masked checksum in its last four bytes covers every byte before.
    static func fixCheckpoint(_ bytes: inout [UInt8]) {
        guard bytes.count >= 4 else { return }
        storeMaskedChecksum(of: 0..<(bytes.count - 4), in: &bytes, at: bytes.count - 4)
    }
}
