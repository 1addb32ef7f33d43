/// The commit-log fuzz target: segment files in memory, read back by `CommitLog.recover` exactly
/// as a store opening would, then checked against what the bytes say.
///
/// Input: `control:u8 segment ("SEG!" firstLSN:u8 segment)*`. The first segment starts at LSN 1;
/// each later one at the LSN in the byte after its marker. Control bit 0: recompute every record
/// checksum (records walked from offset 0 while their lengths fit), so the fuzzer reaches the
/// checks behind it; bits 1 and 2: the checkpoint's LSN (0 to 3).
///
/// What must hold when recovery succeeds: the records replayed are exactly the records in the
/// files past the checkpoint, in LSN order, each one's bytes passing its checksum where it was
/// read; a cut is in the last segment and takes exactly the bytes from its offset to the end;
/// recovering again finds the same records and nothing to cut; and after one more append the log
/// recovers once more with that record added. When it fails: `.corrupt`, naming a segment, and
/// no file changed.
enum CommitLogFuzzTarget {
    static let directory = "/log"
    static let recordBytesMax = 512 << 10
    /// Only the append after recovery writes; a small segment keeps each run cheap.
    static let segmentBytes = 4_096
    static let marker: [UInt8] = Array("SEG!".utf8)

    struct Replayed: Equatable {
        let lsn: UInt64
        let kind: UInt8
        let payload: [UInt8]
        let file: String
        let offset: Int64
    }

    struct Outcome {
        let records: [Replayed]
        let tailCut: TailCut?
        let lastLSN: UInt64
    }

    static func run(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var input = FuzzInput(buffer)
        guard let control = input.byte() else { return false }
        let appliedLSN = UInt64((control >> 1) & 3)
        let fileSystem = MemoryFileSystem()
        try! fileSystem.createDirectory(directory)
        var originals: [String: [UInt8]] = [:]
        var lastPath = ""
        for (firstLSN, segment) in split(input.rest()) {
            var bytes = segment
            if control & 1 != 0 { FuzzChecksums.fixCommitLogRecords(&bytes) }
            let path = Path.join(directory, CommitLogFormat.segmentName(firstLSN: firstLSN))
            guard originals[path] == nil else { continue }
            try! fileSystem.setContents(bytes, of: path)
            originals[path] = bytes
            // Segment names are zero-padded, so their order is their LSN order.
            lastPath = max(lastPath, path)
        }
        let outcome: Outcome
        switch recover(fileSystem, appliedLSN: appliedLSN) {
        case .failure(let error):
            fuzzCheck(error.code == .corrupt, "commit-log", "recovery failed with \(error), not .corrupt")
            fuzzCheck(error.file.map { originals[$0] != nil } ?? false, "commit-log", "the error names no segment: \(error)")
            for (path, bytes) in originals {
                fuzzCheck(fileSystem.contents(of: path) == bytes, "commit-log", "a failed recovery changed \(path)")
            }
            return false
        case .success(let recovered):
            outcome = recovered
        }
        checkRecords(outcome, appliedLSN: appliedLSN, fileSystem: fileSystem)
        checkCut(outcome, lastPath: lastPath, originals: originals, fileSystem: fileSystem)
        checkRecoversAgain(outcome, appliedLSN: appliedLSN, fileSystem: fileSystem)
        return true
    }

    /// The segments of the input, each with its first LSN.
    static func split(_ bytes: [UInt8]) -> [(firstLSN: UInt64, bytes: [UInt8])] {
        var segments: [(UInt64, [UInt8])] = []
        var firstLSN: UInt64 = 1
        var start = 0
        var index = 0
        while index + marker.count < bytes.count {
            if bytes[index..<(index + marker.count)].elementsEqual(marker) {
                segments.append((firstLSN, Array(bytes[start..<index])))
                firstLSN = UInt64(bytes[index + marker.count])
                index += marker.count + 1
                start = index
            } else {
                index += 1
            }
        }
        segments.append((firstLSN, Array(bytes[min(start, bytes.count)...])))
        return segments
    }

    static func recover(_ fileSystem: MemoryFileSystem, appliedLSN: UInt64) -> Result<Outcome, EngramError> {
        var records: [Replayed] = []
        do throws(EngramError) {
            let recovery = try CommitLog.recover(directory: directory, fileSystem: fileSystem, segmentBytes: segmentBytes, recordBytesMax: recordBytesMax, appliedLSN: appliedLSN) { record in
                records.append(Replayed(lsn: record.lsn, kind: record.kind.rawValue, payload: record.payload, file: record.file, offset: record.offset))
            }
            recovery.log.close()
            return .success(Outcome(records: records, tailCut: recovery.tailCut, lastLSN: recovery.log.lastLSN))
        } catch {
            return .failure(error)
        }
    }

    /// Each replayed record against the bytes where it was read, and the records against each
    /// other: consecutive LSNs past the checkpoint, back to back inside a file.
    static func checkRecords(_ outcome: Outcome, appliedLSN: UInt64, fileSystem: MemoryFileSystem) {
        var expectedLSN = appliedLSN + 1
        var previous: (file: String, end: Int64)? = nil
        for record in outcome.records {
            fuzzCheck(record.lsn == expectedLSN, "commit-log", "replayed LSN \(record.lsn) where \(expectedLSN) was next")
            expectedLSN += 1
            guard let file = fileSystem.contents(of: record.file) else { fatalError("commit-log: replayed a record of a missing file \(record.file)") }
            let offset = Int(record.offset)
            let headerBytes = CommitLogFormat.headerBytes
            fuzzCheck(offset >= 0 && offset + headerBytes <= file.count, "commit-log", "record at \(offset) outside its file of \(file.count) bytes")
            let length = Int(FuzzChecksums.u32(file, at: offset + 4))
            let end = offset + headerBytes + length
            fuzzCheck(end <= file.count, "commit-log", "record at \(offset) of \(length) bytes runs past its file")
            let stored = CRC32C.unmask(FuzzChecksums.u32(file, at: offset))
            let computed = file.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(offset + 4)..<end])) }
            fuzzCheck(stored == computed, "commit-log", "replayed the record at \(offset) whose checksum fails")
            let lsn = file.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)) }
            fuzzCheck(lsn == record.lsn, "commit-log", "the record at \(offset) holds LSN \(lsn), replayed as \(record.lsn)")
            fuzzCheck(file[offset + CommitLogFormat.kindOffset] == record.kind, "commit-log", "kind differs from the file at \(offset)")
            let body = Array(file[(offset + headerBytes)..<end])
            switch file[offset + CommitLogFormat.flagsOffset] {
            case 0:
                fuzzCheck(record.payload == body, "commit-log", "the payload at \(offset) differs from the file")
            case CommitLogFormat.flagCompressed:
                fuzzCheck(body.count >= 4 && Int(FuzzChecksums.u32(body, at: 0)) == record.payload.count, "commit-log", "a compressed payload of the wrong length at \(offset)")
                var expanded = [UInt8](repeating: 0, count: record.payload.count)
                let ok = body.withUnsafeBytes { source in
                    expanded.withUnsafeMutableBytes { LZ4Block.decompress(UnsafeRawBufferPointer(rebasing: source[4...]), into: $0) }
                }
                fuzzCheck(ok && expanded == record.payload, "commit-log", "the compressed payload at \(offset) differs from the file")
            default:
                fatalError("commit-log: replayed the record at \(offset) with unknown flags \(file[offset + CommitLogFormat.flagsOffset])")
            }
            if let previous, previous.file == record.file {
                fuzzCheck(previous.end == record.offset, "commit-log", "a gap in \(record.file) between \(previous.end) and \(record.offset)")
            }
            previous = (record.file, Int64(end))
        }
        // The next append follows the last record replayed, or the checkpoint: past it, a log
        // that skips an LSN has lost a record; before it, one would be given twice.
        let lastLSN = outcome.records.last?.lsn ?? appliedLSN
        fuzzCheck(outcome.lastLSN == lastLSN, "commit-log", "the log continues after LSN \(outcome.lastLSN), but the last record replayed or checkpointed is \(lastLSN)")
    }

    /// A cut is in the last segment, the file now ends at it, and it took everything after it.
    static func checkCut(_ outcome: Outcome, lastPath: String, originals: [String: [UInt8]], fileSystem: MemoryFileSystem) {
        for (path, bytes) in originals where path != outcome.tailCut?.file {
            fuzzCheck(fileSystem.contents(of: path) == bytes, "commit-log", "\(path) changed without a cut")
        }
        guard let cut = outcome.tailCut else { return }
        fuzzCheck(cut.file == lastPath, "commit-log", "cut \(cut.file), not the last segment \(lastPath)")
        let original = originals[cut.file] ?? []
        let now = fileSystem.contents(of: cut.file) ?? []
        fuzzCheck(cut.offset >= 0 && cut.offset + cut.byteCount == Int64(original.count), "commit-log", "\(cut) does not end at the file's end, \(original.count)")
        fuzzCheck(now.count == Int(cut.offset) && original.starts(with: now), "commit-log", "after \(cut) the file holds \(now.count) bytes")
        if let last = outcome.records.last(where: { $0.file == cut.file }) {
            fuzzCheck(last.offset < cut.offset, "commit-log", "\(cut) is before a replayed record at \(last.offset)")
        }
    }

    /// Recovery is a fixed point, and the log it leaves takes appends that recover too.
    static func checkRecoversAgain(_ outcome: Outcome, appliedLSN: UInt64, fileSystem: MemoryFileSystem) {
        guard case .success(let again) = recover(fileSystem, appliedLSN: appliedLSN) else {
            fatalError("commit-log: a log that recovered once fails the second time")
        }
        fuzzCheck(again.records == outcome.records, "commit-log", "the second recovery replays \(again.records.count) records, the first \(outcome.records.count)")
        fuzzCheck(again.tailCut == nil, "commit-log", "the second recovery cuts again: \(again.tailCut!)")
        fuzzCheck(again.lastLSN == outcome.lastLSN, "commit-log", "the second recovery ends at LSN \(again.lastLSN), the first at \(outcome.lastLSN)")

        let payload: [UInt8] = Array("appended after recovery".utf8)
        do throws(EngramError) {
            let recovery = try CommitLog.recover(directory: directory, fileSystem: fileSystem, segmentBytes: segmentBytes, recordBytesMax: recordBytesMax, appliedLSN: appliedLSN) { _ in }
            var buffer = ByteWriter()
            buffer.reserve(CommitLogFormat.headerBytes)
            buffer.write(contentsOf: payload)
            try recovery.log.append(kind: .batch, buffer: &buffer)
            try recovery.log.sync()
            recovery.log.close()
        } catch {
            fatalError("commit-log: appending after recovery failed: \(error)")
        }
        switch recover(fileSystem, appliedLSN: appliedLSN) {
        case .failure(let error):
            fatalError("commit-log: after one append the log no longer recovers: \(error)")
        case .success(let appended):
            fuzzCheck(appended.records.dropLast().elementsEqual(outcome.records), "commit-log", "an append changed the records before it")
            fuzzCheck(appended.records.last?.lsn == outcome.lastLSN + 1 && appended.records.last?.payload == payload, "commit-log", "the appended record did not come back")
            fuzzCheck(appended.tailCut == nil, "commit-log", "the appended log has a cut: \(appended.tailCut!)")
        }
    }
}
