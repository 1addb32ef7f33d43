#if canImport(Glibc)
import Glibc
#endif

/// The commit log: every durable change, in order, in preallocated segment files.
///
/// Owner: the store's writer thread, after `recover` has run at open. A batch is appended as one
/// record and made durable by one `sync` (`fdatasync`); checkpoints, on their own thread, let old
/// segments go (`removeSegments`, the one method another thread calls: the segment list is behind
/// a lock). docs/STORAGE.md specifies the format and the recovery argument.
final class CommitLog: @unchecked Sendable {
    struct Segment {
        let firstLSN: UInt64
        let path: String
    }

    let directory: String
    let fileSystem: any FileSystem
    let segmentBytes: Int
    /// The segments on disk, oldest first, and the last LSN of the last one when it was retired;
    /// spare segment files, whole and ready to be renamed into the next segment.
    private struct SegmentList {
        var segments: [Segment]
        var retiredThroughLSN: UInt64?
        var spares: [String]
        var nextSpareNumber: UInt64
        /// Whether the active segment was made with `posix_fallocate` rather than from a spare: its
        /// blocks are unwritten, so every sync of it also commits the file system's journal.
        var activeIsFresh = false
    }
    /// Spare segments kept for the next rolls (`Limits.commitLogSpareSegmentCountMax`).
    let spareCountMax: Int
    private let segmentList: Lock<SegmentList>
    var segments: [Segment] { segmentList.withLock { $0.segments } }
    private var activeHandle: (any FileHandle)?
    private var activeOffset: Int64 = 0
    /// The last LSN written; the next record must carry `lastLSN + 1`.
    private(set) var lastLSN: UInt64
    /// Bytes appended since the last `sync`; zero means everything written is durable.
    private(set) var unsyncedBytes = 0
    /// The highest LSN a completed sync covered; written into each record's header.
    private(set) var syncedLSN: UInt64
    /// Bytes appended since `resetBytesSinceCheckpoint`, to trigger checkpoints.
    private(set) var bytesSinceCheckpoint = 0
    private var compressionScratch: [UInt8] = []

    private init(directory: String, fileSystem: any FileSystem, segmentBytes: Int, segments: [Segment], spares: [String], nextSpareNumber: UInt64, spareCountMax: Int, lastLSN: UInt64) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.segmentBytes = segmentBytes
        self.spareCountMax = spareCountMax
        self.segmentList = Lock(SegmentList(segments: segments, retiredThroughLSN: nil, spares: spares, nextSpareNumber: nextSpareNumber))
        self.lastLSN = lastLSN
        // Recovery read these records back from disk and cut what was torn: they are durable.
        self.syncedLSN = lastLSN
    }

    deinit {
        activeHandle?.close()
    }

    // MARK: Recovery

    /// The outcome of reading the log at open.
    struct Recovery {
        let log: CommitLog
        let tailCut: TailCut?
    }

    /// Reads every segment in `directory`, calls `replay` for each whole record with an LSN above
    /// `appliedLSN` in order, cuts a torn tail off the last segment, and returns a log ready to
    /// append at the next LSN in a fresh segment.
    ///
    /// Damage anywhere but the tail of the last segment, or a gap in the LSNs, is `.corrupt`: it
    /// would mean acknowledged writes are gone, and the store refuses to open rather than serve
    /// less than it promised.
    static func recover(
        directory: String,
        fileSystem: any FileSystem,
        segmentBytes: Int,
        recordBytesMax: Int,
        appliedLSN: UInt64,
        spareCountMax: Int = 0,
        replay: (CommitLogRecord) throws(EngramError) -> Void
    ) throws(EngramError) -> Recovery {
        try fileSystem.createDirectory(directory)
        let spares = try keepSpares(directory: directory, fileSystem: fileSystem, segmentBytes: segmentBytes, countMax: spareCountMax)
        let segments = try fileSystem.contentsOfDirectory(directory)
            .compactMap { name in CommitLogFormat.firstLSN(ofSegmentNamed: name).map { Segment(firstLSN: $0, path: Path.join(directory, name)) } }
            .sorted { $0.firstLSN < $1.firstLSN }
        var expectedLSN: UInt64? = nil
        var tailCut: TailCut? = nil
        var lastLSN = appliedLSN
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            // LSNs that no segment holds lose nothing when the checkpoint covers them: a log that
            // damage left behind the checkpoint goes on in a segment named after it. Any other
            // hole, before the first segment too, may have held acknowledged records.
            if let expected = expectedLSN, segment.firstLSN < expected {
                throw .corrupt("segment starts at LSN \(segment.firstLSN), inside the previous one, which ended before \(expected)", file: segment.path, offset: 0)
            }
            let neededLSN = max(expectedLSN ?? 0, appliedLSN + 1)
            if segment.firstLSN > neededLSN {
                throw .corrupt("segment starts at LSN \(segment.firstLSN), but no segment holds LSNs \(neededLSN) to \(segment.firstLSN - 1), past the checkpoint at \(appliedLSN)", file: segment.path, offset: 0)
            }
            let reader = try SegmentReader(segment: segment, fileSystem: fileSystem, recordBytesMax: recordBytesMax)
            defer { reader.handle.close() }
            var nextLSN = segment.firstLSN
            while true {
                let outcome = try reader.next(expectedLSN: nextLSN)
                switch outcome {
                case .end:
                    break
                case .damaged(let reason):
                    let cut = TailCut(file: segment.path, offset: reader.offset, byteCount: reader.fileBytes - reader.offset, reason: reason)
                    if !isLast {
                        throw .corrupt("\(reason) in a segment that is not the last; acknowledged records may be lost", file: segment.path, offset: reader.offset)
                    }
                    if let later = try reader.findRecordAfterDamage(expectedLSN: nextLSN) {
                        throw .corrupt("\(reason), followed by a whole record at offset \(later): the damage is not a torn tail, and acknowledged records after it would be lost", file: segment.path, offset: reader.offset)
                    }
                    try reader.handle.truncate(to: reader.offset)
                    try reader.handle.sync()
                    tailCut = cut
                case .record(let record):
                    if record.lsn > appliedLSN {
                        if record.lsn != lastLSN + 1 {
                            throw .corrupt("the log holds LSN \(record.lsn) but the store needs \(lastLSN + 1) next", file: segment.path, offset: record.offset)
                        }
                        try replay(record)
                        lastLSN = record.lsn
                    }
                    nextLSN = record.lsn + 1
                    continue
                }
                break
            }
            expectedLSN = nextLSN
        }
        let log = CommitLog(directory: directory, fileSystem: fileSystem, segmentBytes: segmentBytes, segments: segments, spares: spares.paths, nextSpareNumber: spares.nextNumber, spareCountMax: spareCountMax, lastLSN: max(lastLSN, (expectedLSN ?? 1) - 1))
        return Recovery(log: log, tailCut: tailCut)
    }

    /// The spare files a previous run left, whole, up to `countMax`; the rest (and any spare being
    /// prepared when it stopped) are removed.
    private static func keepSpares(directory: String, fileSystem: any FileSystem, segmentBytes: Int, countMax: Int) throws(EngramError) -> (paths: [String], nextNumber: UInt64) {
        var kept: [String] = []
        var highest: UInt64 = 0
        for name in try fileSystem.contentsOfDirectory(directory).sorted() {
            guard let number = CommitLogFormat.spareNumber(ofFileNamed: name) else {
                if CommitLogFormat.isSpareBeingPrepared(name) { try fileSystem.remove(Path.join(directory, name)) }
                continue
            }
            highest = max(highest, number)
            let path = Path.join(directory, name)
            let handle = try fileSystem.open(path, create: false)
            let size = try handle.size()
            handle.close()
            if kept.count < countMax && size == Int64(segmentBytes) {
                kept.append(path)
            } else {
                try fileSystem.remove(path)
            }
        }
        return (kept, highest + 1)
    }

    // MARK: Appending

    /// Appends a record whose payload sits in `buffer` after `CommitLogFormat.headerBytes` reserved
    /// bytes. The record is written but not durable until `sync`.
    ///
    /// On a failed write nothing is consumed: the next append reuses the LSN and the same offset,
    /// and recovery stops at whatever partial bytes were left.
    func append(kind: CommitLogFormat.Kind, buffer: inout ByteWriter) throws(EngramError) {
        let lsn = lastLSN + 1
        let payloadBytes = buffer.count - CommitLogFormat.headerBytes
        precondition(payloadBytes >= 0, "commit-log buffer lacks its reserved header")
        let recordBytes: Int
        if payloadBytes >= CommitLogFormat.compressionThresholdBytes, let compressed = compress(buffer) {
            recordBytes = compressed
            try compressionScratch.withUnsafeMutableBytes { bytes in
                Result { () throws(EngramError) in
                    try write(record: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<recordBytes]), lsn: lsn, kind: kind, flags: CommitLogFormat.flagCompressed)
                }
            }.get()
        } else {
            // In place: the header is patched into the buffer's own bytes, not a copy of them.
            recordBytes = buffer.count
            try buffer.withUnsafeMutableBytes { (bytes) throws(EngramError) in
                try write(record: bytes, lsn: lsn, kind: kind, flags: 0)
            }
        }
        lastLSN = lsn
        unsyncedBytes += recordBytes
        bytesSinceCheckpoint += recordBytes
    }

    /// Compresses the payload of `buffer` into `compressionScratch` (header reserved in front);
    /// returns the record's size, or nil when compression does not save a quarter.
    private func compress(_ buffer: ByteWriter) -> Int? {
        let payloadBytes = buffer.count - CommitLogFormat.headerBytes
        let capacity = CommitLogFormat.headerBytes + 4 + LZ4Block.bound(payloadBytes)
        if compressionScratch.count < capacity {
            compressionScratch = [UInt8](repeating: 0, count: capacity)
        }
        let compressedBytes = buffer.bytes.withUnsafeBytes { source in
            compressionScratch.withUnsafeMutableBytes { destination in
                let payload = UnsafeRawBufferPointer(rebasing: source[CommitLogFormat.headerBytes...])
                destination.storeBytes(of: UInt32(payloadBytes).littleEndian, toByteOffset: CommitLogFormat.headerBytes, as: UInt32.self)
                let target = UnsafeMutableRawBufferPointer(rebasing: destination[(CommitLogFormat.headerBytes + 4)..<capacity])
                return LZ4Block.compress(payload, into: target)
            }
        }
        let total = CommitLogFormat.headerBytes + 4 + compressedBytes
        return total * 4 <= buffer.count * 3 ? total : nil
    }

    private func write(record bytes: UnsafeMutableRawBufferPointer, lsn: UInt64, kind: CommitLogFormat.Kind, flags: UInt8) throws(EngramError) {
        let byteCount = bytes.count
        bytes.storeBytes(of: UInt32(byteCount - CommitLogFormat.headerBytes).littleEndian, toByteOffset: 4, as: UInt32.self)
        bytes.storeBytes(of: lsn.littleEndian, toByteOffset: 8, as: UInt64.self)
        bytes.storeBytes(of: syncedLSN.littleEndian, toByteOffset: 16, as: UInt64.self)
        bytes[CommitLogFormat.kindOffset] = kind.rawValue
        bytes[CommitLogFormat.flagsOffset] = flags
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[4..<byteCount]))
        bytes.storeBytes(of: CRC32C.mask(crc).littleEndian, toByteOffset: 0, as: UInt32.self)
        if activeHandle == nil || activeOffset + Int64(byteCount) + Int64(CommitLogFormat.headerBytes) > Int64(segmentBytes) {
            try roll(firstLSN: lsn)
        }
        guard let handle = activeHandle else { preconditionFailure("no active commit-log segment after roll") }
        try handle.write(UnsafeRawBufferPointer(bytes), at: activeOffset)
        // The end marker: a header of zeros after the last record, so a reader stops there even in
        // a segment made from a spare, whose older bytes follow (the roll left room for it).
        try handle.write(CommitLogFormat.endMarker, at: activeOffset + Int64(byteCount))
        activeOffset += Int64(byteCount)
    }

    /// Starts a new segment whose first record will be `firstLSN`, of `segmentBytes` on disk
    /// before the first record goes in, so that appends inside it cannot fail for want of space:
    /// a spare renamed into place (its blocks written already, so a sync is a flush of data and
    /// not a journal commit), or else a new file reserved with `posix_fallocate`. The previous
    /// segment is synced first, so a segment that is not the last is always whole.
    private func roll(firstLSN: UInt64) throws(EngramError) {
        if let previous = activeHandle {
            try previous.sync()
            previous.close()
            activeHandle = nil
            syncedLSN = lastLSN
        }
        let path = Path.join(directory, CommitLogFormat.segmentName(firstLSN: firstLSN))
        let spare = segmentList.withLock { $0.spares.isEmpty ? nil : $0.spares.removeFirst() }
        let handle: any FileHandle
        if let spare {
            // A spare's first header is zeros (`recycle` and `prepareSpare` make it so): until the
            // first record lands, the segment reads as empty.
            try fileSystem.rename(spare, to: path)
            handle = try fileSystem.open(path, create: false)
            do throws(EngramError) {
                try fileSystem.syncDirectory(directory)
            } catch {
                handle.close()
                throw error
            }
        } else {
            handle = try fileSystem.createReserved(path, byteCount: Int64(segmentBytes), directory: directory) { _ throws(EngramError) in }
        }
        activeHandle = handle
        activeOffset = 0
        segmentList.withLock {
            $0.retiredThroughLSN = nil
            $0.activeIsFresh = spare == nil
            $0.segments.append(Segment(firstLSN: firstLSN, path: path))
        }
    }

    /// Whether the active segment was reserved with `posix_fallocate` (every sync of it commits the
    /// journal) while a spare is ready: then the writer retires it, and the next append rolls onto
    /// the spare.
    var shouldTradeActiveForSpare: Bool {
        segmentList.withLock { $0.activeIsFresh && !$0.spares.isEmpty && !$0.segments.isEmpty && $0.retiredThroughLSN == nil }
    }

    /// Spare segments ready now.
    var spareCount: Int { segmentList.withLock { $0.spares.count } }

    /// Makes every appended record durable.
    func sync() throws(EngramError) {
        guard unsyncedBytes > 0, let handle = activeHandle else { return }
        try handle.sync()
        unsyncedBytes = 0
        syncedLSN = lastLSN
    }

    func resetBytesSinceCheckpoint() { bytesSinceCheckpoint = 0 }

    /// Removes every segment whose records all have LSNs at or below `lsn` (a checkpoint applied
    /// them to LMDB), keeping up to `spareCountMax` of them as spares (`recycle`) unless `erasing`:
    /// an erase wants no log bytes written before it left anywhere, so its checkpoint removes the
    /// spares too. The last segment stays, unless `retireActiveSegment` closed it. Checkpoint
    /// thread.
    func removeSegments(coveredBy lsn: UInt64, erasing: Bool = false) throws(EngramError) {
        let removable = segmentList.withLock { list -> [Segment] in
            var count = 0
            while count < list.segments.count {
                // A segment's last LSN is one below the next segment's first; a retired last
                // segment ends where it was retired.
                let last: UInt64? = count + 1 < list.segments.count ? list.segments[count + 1].firstLSN - 1 : list.retiredThroughLSN
                guard let last, last <= lsn else { break }
                count += 1
            }
            defer { list.segments.removeFirst(count) }
            return Array(list.segments.prefix(count))
        }
        // A file left by a failed removal is read at the next open and skipped: every record in
        // it is at or below LMDB's applied LSN.
        var changed = !removable.isEmpty
        if erasing {
            let spares = segmentList.withLock { list -> [String] in
                defer { list.spares.removeAll() }
                return list.spares
            }
            for spare in spares { try fileSystem.remove(spare) }
            changed = changed || !spares.isEmpty
        }
        for segment in removable {
            let kept = erasing ? false : try recycle(segment.path)
            if !kept { try fileSystem.remove(segment.path) }
        }
        if changed { try fileSystem.syncDirectory(directory) }
    }

    /// Keeps a removed segment as a spare when fewer than `spareCountMax` exist: its first header
    /// is zeroed and synced, then it is renamed. Returns whether it did.
    private func recycle(_ path: String) throws(EngramError) -> Bool {
        let number: UInt64? = segmentList.withLock { list in
            guard list.spares.count < spareCountMax else { return nil }
            defer { list.nextSpareNumber += 1 }
            return list.nextSpareNumber
        }
        guard let number else { return false }
        let handle = try fileSystem.open(path, create: false)
        do throws(EngramError) {
            guard try handle.size() == Int64(segmentBytes) else {
                handle.close()
                return false
            }
            try handle.write(CommitLogFormat.endMarker, at: 0)
            try handle.sync()
        } catch {
            handle.close()
            throw error
        }
        handle.close()
        let sparePath = Path.join(directory, CommitLogFormat.spareName(number: number))
        try fileSystem.rename(path, to: sparePath)
        segmentList.withLock { $0.spares.append(sparePath) }
        return true
    }

    /// Makes a spare of zeros when there is none, so that no segment has to be reserved with
    /// `posix_fallocate`: written in 1 MiB pieces with a pause between them (a burst of 64 MiB
    /// would hold up the log's syncs behind it), synced, then renamed into place. Checkpoint thread.
    func prepareSpare(pauseMicroseconds: Int) throws(EngramError) {
        let number: UInt64? = segmentList.withLock { list in
            guard list.spares.isEmpty, spareCountMax > 0 else { return nil }
            defer { list.nextSpareNumber += 1 }
            return list.nextSpareNumber
        }
        guard let number else { return }
        let temporaryPath = Path.join(directory, CommitLogFormat.spareBeingPreparedName(number: number))
        let handle = try fileSystem.open(temporaryPath, create: true)
        do throws(EngramError) {
            try handle.truncate(to: 0)
            let piece = [UInt8](repeating: 0, count: 1 << 20)
            var offset = 0
            while offset < segmentBytes {
                let count = min(piece.count, segmentBytes - offset)
                try piece.withBytes { (bytes) throws(EngramError) in try handle.write(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), at: Int64(offset)) }
                offset += count
                if pauseMicroseconds > 0 { usleep(UInt32(pauseMicroseconds)) }
            }
            try handle.sync()
        } catch {
            handle.close()
            try? fileSystem.remove(temporaryPath)
            throw error
        }
        handle.close()
        let sparePath = Path.join(directory, CommitLogFormat.spareName(number: number))
        try fileSystem.rename(temporaryPath, to: sparePath)
        try fileSystem.syncDirectory(directory)
        segmentList.withLock { $0.spares.append(sparePath) }
    }

    /// Syncs and closes the active segment, so that the next append starts a new one and the next
    /// checkpoint can remove this one with the rest: an erase wants no log file to keep a record
    /// written before it (docs/LIFECYCLE.md).
    func retireActiveSegment() throws(EngramError) {
        guard let handle = activeHandle else { return }
        try handle.sync()
        handle.close()
        activeHandle = nil
        unsyncedBytes = 0
        syncedLSN = lastLSN
        let retiredThrough = lastLSN
        segmentList.withLock { $0.retiredThroughLSN = retiredThrough }
    }

    func close() {
        activeHandle?.close()
        activeHandle = nil
    }
}
