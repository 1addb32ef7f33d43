/// Reads the records of one commit-log segment in order, checking each before it is believed.
final class SegmentReader {
    enum Outcome {
        case record(CommitLogRecord)
        /// A clean end: the file ends, or the next header is all zeros (preallocated space).
        case end
        /// The bytes at `offset` are not a whole, valid record; the reason names the check.
        case damaged(String)
    }

    let segment: CommitLog.Segment
    let handle: any FileHandle
    let fileBytes: Int64
    let recordBytesMax: Int
    private(set) var offset: Int64 = 0

    init(segment: CommitLog.Segment, fileSystem: any FileSystem, recordBytesMax: Int) throws(EngramError) {
        self.segment = segment
        self.handle = try fileSystem.open(segment.path, create: false)
        self.fileBytes = try handle.size()
        self.recordBytesMax = recordBytesMax
    }

    /// The record at the current offset; on `.record` the offset moves past it, otherwise it stays
    /// at the start of the damage or the end.
    func next(expectedLSN: UInt64) throws(EngramError) -> Outcome {
        let headerBytes = CommitLogFormat.headerBytes
        if offset + Int64(headerBytes) > fileBytes {
            let rest = try handle.read(byteCount: Int(fileBytes - offset), at: offset)
            return rest.allSatisfy({ $0 == 0 }) ? .end : .damaged("a partial record header of \(rest.count) bytes")
        }
        let header = try handle.read(byteCount: headerBytes, at: offset)
        if header.allSatisfy({ $0 == 0 }) { return .end }
        let storedCRC = header.withUnsafeBytes { CRC32C.unmask(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self))) }
        let length = header.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self))) }
        let lsn = header.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        guard length <= recordBytesMax else {
            return .damaged("a record length of \(length) bytes, over the limit of \(recordBytesMax)")
        }
        guard offset + Int64(headerBytes + length) <= fileBytes else {
            return .damaged("a record of \(length) bytes that runs past the end of the file")
        }
        var record = header
        record.append(contentsOf: try handle.read(byteCount: length, at: offset + Int64(headerBytes)))
        let actualCRC = record.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) }
        guard actualCRC == storedCRC else {
            return .damaged("a checksum mismatch (stored \(hex(storedCRC)), computed \(hex(actualCRC)))")
        }
        guard let kind = CommitLogFormat.Kind(rawValue: header[CommitLogFormat.kindOffset]) else {
            return .damaged("an unknown record kind \(header[CommitLogFormat.kindOffset])")
        }
        guard lsn == expectedLSN else {
            return .damaged("LSN \(lsn) where \(expectedLSN) was expected")
        }
        // Bit 0 is the only flag; any other bit set is damage, with bit 0 or without it.
        let flags = header[CommitLogFormat.flagsOffset]
        guard flags & ~CommitLogFormat.flagCompressed == 0 else { return .damaged("unknown flags \(flags)") }
        let payload: [UInt8]
        if flags == CommitLogFormat.flagCompressed {
            guard let decompressed = Self.decompress(record, recordBytesMax: recordBytesMax) else {
                return .damaged("a compressed payload that does not decompress")
            }
            payload = decompressed
        } else {
            payload = Array(record[headerBytes...])
        }
        let result = CommitLogRecord(lsn: lsn, kind: kind, payload: payload, file: segment.path, offset: offset)
        offset += Int64(headerBytes + length)
        return .record(result)
    }

    /// Looks past damage at `offset` for a whole record written after a sync that covered the
    /// damaged record (its `synced through` is at least `expectedLSN`): if one exists, the damaged
    /// record had been made durable, so the damage is corruption, not a torn tail, and cutting
    /// there would lose acknowledged writes. Returns that record's offset. Whole records found
    /// after a torn one whose syncs did not cover it are unsynced writes a power cut reordered;
    /// they were never acknowledged as durable and are cut with the tail.
    func findRecordAfterDamage(expectedLSN: UInt64) throws(EngramError) -> Int64? {
        let start = offset + 1
        guard start < fileBytes else { return nil }
        let rest = try handle.read(byteCount: Int(fileBytes - start), at: start)
        let headerBytes = CommitLogFormat.headerBytes
        guard rest.count >= headerBytes else { return nil }
        return rest.withUnsafeBytes { buffer -> Int64? in
            for candidate in 0...(buffer.count - headerBytes) {
                let lsn = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: candidate + 8, as: UInt64.self))
                guard lsn > expectedLSN, lsn - expectedLSN < 1 << 32 else { continue }
                let syncedThrough = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: candidate + 16, as: UInt64.self))
                guard syncedThrough >= expectedLSN, syncedThrough < lsn else { continue }
                let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: candidate + 4, as: UInt32.self)))
                guard length <= recordBytesMax, candidate + headerBytes + length <= buffer.count else { continue }
                let stored = CRC32C.unmask(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: candidate, as: UInt32.self)))
                let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[(candidate + 4)..<(candidate + headerBytes + length)]))
                if stored == computed { return start + Int64(candidate) }
            }
            return nil
        }
    }

    private static func decompress(_ record: [UInt8], recordBytesMax: Int) -> [UInt8]? {
        let start = CommitLogFormat.headerBytes
        guard record.count >= start + 4 else { return nil }
        let rawBytes = record.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self))) }
        guard rawBytes <= recordBytesMax else { return nil }
        var output = [UInt8](repeating: 0, count: rawBytes)
        let ok = record.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                LZ4Block.decompress(UnsafeRawBufferPointer(rebasing: source[(start + 4)...]), into: destination)
            }
        }
        return ok ? output : nil
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
