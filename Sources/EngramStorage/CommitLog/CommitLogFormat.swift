/// The byte layout of commit-log records; docs/STORAGE.md ("The commit log") is the specification.
///
/// ```
///  0        4        8            16               24     25      26
///  +--------+--------+------------+----------------+------+-------+------------------+
///  | crc32c | length |    lsn     | synced through | kind | flags | payload (length) |
///  |  u32   |  u32   |    u64     |      u64       |  u8  |  u8   |                  |
///  +--------+--------+------------+----------------+------+-------+------------------+
/// ```
/// All integers little-endian. `crc32c` is masked (see `CRC32C.mask`) and covers bytes 4 to the
/// end of the payload. `synced through` is the highest LSN a completed `fdatasync` covered when
/// this record was written: it lets recovery tell a torn unsynced tail (cut) from damage to a
/// synced record (refused). A header of 26 zero bytes is the end of the log (segments are
/// preallocated with zeros). When `flags` bit 0 is set the payload is `u32 uncompressed length`
/// followed by an LZ4 block.
enum CommitLogFormat {
    static let headerBytes = 26
    static let kindOffset = 24
    static let flagsOffset = 25
    static let flagCompressed: UInt8 = 1
    /// Payloads at least this large are offered to LZ4. Below it, a record's `fdatasync` costs
    /// about the same whatever its size (it is bound by latency: 0.28 ms for 4 KiB, 0.35 ms for
    /// 64 KiB here), so compressing would only spend the writer thread's time; above it, the
    /// sequential bandwidth (about 200 MB/s synced) starts to matter.
    static let compressionThresholdBytes = 256 << 10

    enum Kind: UInt8 {
        /// One group-commit batch: `BatchPayload`.
        case batch = 1
        /// The batch whose LSN is the payload (u64) was written to the log but never committed to
        /// LMDB; replay skips it.
        case rollback = 2
    }

    /// Written after every record: a reader stops at it (see `SegmentReader`).
    static let endMarker = [UInt8](repeating: 0, count: headerBytes)

    static func segmentName(firstLSN: UInt64) -> String {
        let digits = String(firstLSN)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first LSN in a segment's name, or nil if the name is not a segment's.
    static func firstLSN(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasSuffix(".log"), name.count == 24 else { return nil }
        return UInt64(name.prefix(20))
    }

    /// `spare-<20-digit number>.log`: a whole segment file kept for the next roll, its first header
    /// zeros. Never read as a segment.
    static func spareName(number: UInt64) -> String {
        let digits = String(number)
        return "spare-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    static func spareNumber(ofFileNamed name: String) -> UInt64? {
        guard name.hasPrefix("spare-"), name.hasSuffix(".log"), name.count == 30 else { return nil }
        return UInt64(name.dropFirst(6).prefix(20))
    }

    /// A spare being written; a crash may leave one, which the next open removes.
    static func spareBeingPreparedName(number: UInt64) -> String { spareName(number: number) + ".tmp" }

    static func isSpareBeingPrepared(_ name: String) -> Bool { name.hasPrefix("spare-") && name.hasSuffix(".log.tmp") }
}

/// Where recovery cut a torn tail off the log: what was lost was never acknowledged as durable.
public struct TailCut: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let offset: Int64
    public let byteCount: Int64
    public let reason: String

    public var description: String {
        "cut \(byteCount) bytes at offset \(offset) of \(file): \(reason)"
    }
}

/// One record read back from the log, its payload decompressed.
struct CommitLogRecord {
    let lsn: UInt64
    let kind: CommitLogFormat.Kind
    let payload: [UInt8]
    let file: String
    let offset: Int64
}
