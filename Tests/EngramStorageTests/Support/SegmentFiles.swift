#if canImport(Glibc)
import Glibc
#endif
import EngramStorage

/// Limits for tests that copy or crash whole data directories: every file small.
func tinyLimits() -> Limits {
    var limits = episodicLimits()
    limits.valueBytesMax = 16 << 10
    limits.batchBytesMax = 64 << 10
    limits.commitLogSegmentBytes = 128 << 10
    limits.checkpointLogBytes = 64 << 20
    limits.checkpointIntervalMilliseconds = 3_600_000
    // No spares: a clean close then leaves the active segment, records and all, for the fuzz seeds.
    limits.commitLogSpareSegmentCountMax = 0
    return limits
}

/// Reading and patching episodic segment files the way a disk fault would, following
/// docs/EPISODIC.md byte for byte.
enum SegmentFiles {
    struct Block {
        let offset: Int
        let storedBytes: Int
        let rawBytes: Int
        let codec: UInt8
        var end: Int { offset + 32 + storedBytes }
    }

    static func names(_ directory: TemporaryDirectory) throws -> [String] {
        try PosixFileSystem().contentsOfDirectory(directory.appending("episodic")).sorted()
    }

    static func path(_ directory: TemporaryDirectory, _ name: String) -> String {
        directory.appending("episodic/" + name)
    }

    static func read(_ path: String) throws -> [UInt8] {
        let handle = try PosixFileSystem().open(path, create: false)
        defer { handle.close() }
        return try handle.read(byteCount: Int(try handle.size()), at: 0)
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let handle = try PosixFileSystem().open(path, create: false)
        defer { handle.close() }
        try handle.truncate(to: 0)
        try handle.write(bytes, at: 0)
    }

    static func truncate(_ path: String, to byteCount: Int) throws {
        let handle = try PosixFileSystem().open(path, create: false)
        defer { handle.close() }
        try handle.truncate(to: Int64(byteCount))
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    static func store(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for index in 0..<4 { bytes[offset + index] = $0[index] } }
    }

    /// The blocks of a segment file, walked from offset 64 to a zero header or the end.
    static func blocks(_ file: [UInt8]) -> [Block] {
        var blocks: [Block] = []
        var offset = 64
        while offset + 32 <= file.count, !file[offset..<(offset + 32)].allSatisfy({ $0 == 0 }) {
            let block = Block(offset: offset, storedBytes: Int(u32(file, offset + 4)), rawBytes: Int(u32(file, offset + 8)), codec: file[offset + 12])
            guard block.end <= file.count else { break }
            blocks.append(block)
            offset = block.end
        }
        return blocks
    }

    /// A block's raw records, decompressed.
    static func raw(_ file: [UInt8], _ block: Block) -> [UInt8] {
        let stored = Array(file[(block.offset + 32)..<block.end])
        if block.codec == 0 { return stored }
        var raw = [UInt8](repeating: 0, count: block.rawBytes)
        let ok = stored.withUnsafeBytes { source in
            raw.withUnsafeMutableBytes { destination in
                block.codec == 1 ? LZ4Block.decompress(source, into: destination) : ZstdBlock.decompress(source, into: destination)
            }
        }
        precondition(ok, "test helper could not decompress the block at \(block.offset)")
        return raw
    }

    /// The offsets of the records in raw block bytes.
    static func recordOffsets(_ raw: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        while offset < raw.count {
            offsets.append(offset)
            offset += 8 + Int(u32(raw, offset + 4))
        }
        return offsets
    }

    /// Recomputes a block's checksum after its bytes were changed on purpose, so that only the
    /// checks behind the block checksum can notice.
    static func resealBlock(_ file: inout [UInt8], _ block: Block) {
        let crc = file.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(block.offset + 4)..<block.end])) }
        store(CRC32C.mask(crc), in: &file, at: block.offset)
    }

    /// The offset in `file` (inside `block`'s stored bytes) of `needle`, which must occur once.
    static func uniqueOccurrence(of needle: [UInt8], in file: [UInt8], _ block: Block) -> Int? {
        var found: [Int] = []
        for start in (block.offset + 32)...(block.end - needle.count) where file[start..<(start + needle.count)].elementsEqual(needle) {
            found.append(start)
        }
        return found.count == 1 ? found[0] : nil
    }

    /// Copies a data directory (the files of a crashed store) to a fresh one.
    static func copy(_ source: TemporaryDirectory) throws -> TemporaryDirectory {
        let target = TemporaryDirectory()
        try run("/bin/cp", ["-a", source.path + "/.", target.path])
        return target
    }
}

