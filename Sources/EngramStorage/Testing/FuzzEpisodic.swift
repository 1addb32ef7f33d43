/// The episodic log's fuzz targets: the block decoder with the record parser behind it, and the
/// tail scan recovery runs over a segment file (docs/EPISODIC.md).

/// Input: `control:u8 bytes`. Control bit 0: the bytes are raw records, read as the open block
/// is read from its LMDB pieces (no block header, count unknown); otherwise they are one block,
/// decoded by `EpisodicBlock.decode` as a read from a segment file does. Bit 1: recompute every
/// record checksum first (in raw records, or in a block stored uncompressed); bit 2: recompute
/// the block checksum.
///
/// What must hold when the bytes are accepted: the records fill the raw bytes exactly, in order,
/// positions strictly increasing inside the block's range, the count matches the header, and
/// each record encodes back to exactly its bytes from the fields the parser returned. When they
/// are refused: `.corrupt` naming the file and the block's offset.
enum EpisodicBlockFuzzTarget {
    static let file = "fuzzed.seg"
    static let offset: Int64 = 4_096
    static let rawBytesMax = Limits.default.episodicBlockBytes

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var input = FuzzInput(buffer)
        guard let control = input.byte() else { return false }
        var bytes = input.rest()
        let recordsOnly = control & 1 != 0
        if control & 2 != 0 {
            if recordsOnly {
                FuzzChecksums.fixEpisodeRecords(&bytes, in: 0..<bytes.count)
            } else if bytes.count >= EpisodicFormat.blockHeaderBytes, bytes[12] == EpisodicFormat.Codec.stored.rawValue {
                FuzzChecksums.fixEpisodeRecords(&bytes, in: EpisodicFormat.blockHeaderBytes..<bytes.count)
            }
        }
        if control & 4 != 0, !recordsOnly { FuzzChecksums.fixEpisodicBlock(&bytes, at: 0) }
        do throws(EngramError) {
            if recordsOnly {
                // The open block: its address is its first record's position, its end unknown.
                let header = EpisodicBlockHeader(storedBytes: bytes.count, rawBytes: bytes.count, codec: EpisodicFormat.Codec.stored.rawValue, recordCount: 0, firstPosition: 1, lastPosition: .max)
                try checkRecords(bytes, header: header, countKnown: false)
            } else {
                var raw: [UInt8] = []
                let header = try bytes.withBytes { (block) throws(EngramError) in
                    try EpisodicBlock.decode(block, file: file, offset: offset, rawBytesMax: rawBytesMax, raw: &raw)
                }
                fuzzCheck(header == (bytes.withUnsafeBytes { EpisodicBlockHeader($0) }), "episodic-block", "the header returned is not the header read")
                fuzzCheck(raw.count == header.rawBytes && raw.count <= rawBytesMax, "episodic-block", "\(raw.count) raw bytes for a header of \(header.rawBytes)")
                if header.codec == EpisodicFormat.Codec.stored.rawValue {
                    fuzzCheck(raw.elementsEqual(bytes.dropFirst(EpisodicFormat.blockHeaderBytes)), "episodic-block", "a stored block's raw bytes differ from its body")
                }
                try checkRecords(raw, header: header, countKnown: true)
            }
            return true
        } catch {
            fuzzCheck(error.code == .corrupt && error.file == (recordsOnly ? "pieces" : file) && error.offset == (recordsOnly ? 0 : offset), "episodic-block", "refused with \(error), not .corrupt naming the block")
            return false
        }
    }

    static func checkRecords(_ raw: [UInt8], header: EpisodicBlockHeader, countKnown: Bool) throws(EngramError) {
        var records: [[UInt8]] = []
        var previous: UInt64 = 0
        try raw.withBytes { (bytes) throws(EngramError) in
            try EpisodicBlock.forEachRecord(bytes, header: header, file: countKnown ? file : "pieces", offset: countKnown ? offset : 0, countKnown: countKnown) { record in
                fuzzCheck(record.position > previous && record.position >= header.firstPosition && record.position <= header.lastPosition, "episodic-block", "accepted position \(record.position) after \(previous) in \(header.firstPosition)...\(header.lastPosition)")
                previous = record.position
                let episode = Episode(record)
                var writer = ByteWriter()
                EpisodeRecord.encode(
                    position: record.position, sequence: record.sequence, timestampMicroseconds: record.timestampMicroseconds,
                    kind: record.kind, namespace: Array(record.namespace), agent: Array(record.agent),
                    lead: episode.lead, campaign: episode.campaign, body: episode.body, into: &writer)
                fuzzCheck(writer.bytes.elementsEqual(record.record), "episodic-block", "record \(records.count) encodes back differently: \(firstDifference(Array(record.record), writer.bytes))")
                records.append(Array(record.record))
                return true
            }
        }
        fuzzCheck(records.joined().elementsEqual(raw), "episodic-block", "the records do not fill the raw bytes exactly")
        fuzzCheck(!countKnown || records.count == header.recordCount, "episodic-block", "\(records.count) records under a header of \(header.recordCount)")
    }
}

/// Input: `control:u8 file`. The file is one segment, scanned by `EpisodicLog.scanTail` as
/// recovery scans the active segment past its checkpointed end (control bit 1: from offset 64,
/// the header unread) or a segment started after the checkpoint (from 0, the header checked).
/// Control bit 0: recompute the header's, each block's and each stored record's checksum first.
///
/// What must hold: a clean scan means the blocks from the start chain exactly to a zero header
/// or the end of the file, each whole; a cut lies at or after the start, keeps a prefix that
/// scans clean, and counts every byte from its offset to the last non-zero one.
enum EpisodicTailFuzzTarget {
    static let path = "/episodic/00000000000000000001-0.seg"
    static let blockRawBytesMax = Limits.default.episodicBlockBytes

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var input = FuzzInput(buffer)
        guard let control = input.byte() else { return false }
        var file = input.rest()
        if control & 1 != 0 { FuzzChecksums.fixEpisodicSegment(&file) }
        let start = Int64(control & 2 != 0 ? EpisodicFormat.segmentHeaderBytes : 0)
        guard let cut = scan(file, from: start) else {
            checkClean(file, from: Int(start))
            return true
        }
        fuzzCheck(cut.file == path, "episodic-tail", "the cut names \(cut.file)")
        fuzzCheck(cut.offset >= start || cut.offset == 0, "episodic-tail", "\(cut) is before the scan's start \(start)")
        fuzzCheck(cut.byteCount >= 0 && cut.offset + cut.byteCount <= Int64(file.count), "episodic-tail", "\(cut) runs past the file's \(file.count) bytes")
        let end = Int(cut.offset + cut.byteCount)
        fuzzCheck(file[end...].allSatisfy { $0 == 0 }, "episodic-tail", "\(cut) leaves non-zero bytes after it")
        fuzzCheck(cut.byteCount == 0 || file[end - 1] != 0, "episodic-tail", "\(cut) counts zeros at its end")
        if cut.offset >= start {
            let kept = Array(file[..<Int(cut.offset)])
            fuzzCheck(scan(kept, from: start) == nil, "episodic-tail", "the part before \(cut) does not scan clean")
        }
        return false
    }

    static func scan(_ file: [UInt8], from start: Int64) -> TailCut? {
        let fileSystem = MemoryFileSystem()
        try! fileSystem.createDirectory("/episodic")
        try! fileSystem.setContents(file, of: path)
        do throws(EngramError) {
            let handle = try fileSystem.open(path, create: false)
            return try EpisodicLog.scanTail(handle, path: path, from: start, fileBytes: Int64(file.count), blockRawBytesMax: blockRawBytesMax)
        } catch {
            fatalError("episodic-tail: the scan of a file in memory threw \(error)")
        }
    }

    /// Walks the blocks the way the format says, independently of the scan's bookkeeping.
    static func checkClean(_ file: [UInt8], from start: Int) {
        var offset = start
        if offset == 0 {
            let header = Array(file.prefix(EpisodicFormat.segmentHeaderBytes))
            if header.allSatisfy({ $0 == 0 }) { return }
            fuzzCheck((try? EpisodicSegmentHeader.decode(header, file: path)) != nil, "episodic-tail", "a clean scan over a bad segment header")
            offset = EpisodicFormat.segmentHeaderBytes
        }
        var raw: [UInt8] = []
        while offset < file.count {
            let header = file[offset..<min(offset + EpisodicFormat.blockHeaderBytes, file.count)]
            if header.allSatisfy({ $0 == 0 }) { return }
            fuzzCheck(header.count == EpisodicFormat.blockHeaderBytes, "episodic-tail", "a clean scan over a partial block header at \(offset)")
            let end = offset + EpisodicFormat.blockHeaderBytes + Int(FuzzChecksums.u32(file, at: offset + 4))
            fuzzCheck(end <= file.count, "episodic-tail", "a clean scan over a block at \(offset) that runs past the file")
            let block = Array(file[offset..<end])
            let whole = (try? block.withBytes { (bytes) throws(EngramError) -> Bool in
                let decoded = try EpisodicBlock.decode(bytes, file: path, offset: Int64(offset), rawBytesMax: blockRawBytesMax, raw: &raw)
                try raw.withBytes { (records) throws(EngramError) in
                    try EpisodicBlock.forEachRecord(records, header: decoded, file: path, offset: Int64(offset)) { _ in true }
                }
                return true
            }) ?? false
            fuzzCheck(whole, "episodic-tail", "a clean scan over a damaged block at \(offset)")
            offset = end
        }
    }
}
