@testable import EngramStorage
import Testing

@Suite struct CommitLogTests {
    static let segmentBytes = 1 << 20
    static let recordBytesMax = 512 << 10

    /// Writes `payloads` as batch records to a new log in `directory`, synced, and returns the
    /// byte offset where each record starts in the first segment.
    @discardableResult
    func writeLog(_ directory: String, _ payloads: [[UInt8]], segmentBytes: Int = segmentBytes, syncEach: Bool = true) throws -> [Int64] {
        let recovery = try CommitLog.recover(directory: directory, fileSystem: PosixFileSystem(), segmentBytes: segmentBytes, recordBytesMax: Self.recordBytesMax, appliedLSN: 0) { _ in }
        let log = recovery.log
        var offsets: [Int64] = []
        var offset: Int64 = 0
        for payload in payloads {
            var buffer = ByteWriter()
            buffer.reserve(CommitLogFormat.headerBytes)
            buffer.write(contentsOf: payload)
            let before = log.bytesSinceCheckpoint
            try log.append(kind: .batch, buffer: &buffer)
            if syncEach { try log.sync() }
            offsets.append(offset)
            offset += Int64(log.bytesSinceCheckpoint - before)
        }
        try log.sync()
        log.close()
        return offsets
    }

    func recover(_ directory: String, applied: UInt64 = 0) throws -> (records: [CommitLogRecord], recovery: CommitLog.Recovery) {
        var records: [CommitLogRecord] = []
        let recovery = try CommitLog.recover(directory: directory, fileSystem: PosixFileSystem(), segmentBytes: Self.segmentBytes, recordBytesMax: Self.recordBytesMax, appliedLSN: applied) { record in records.append(record) }
        return (records, recovery)
    }

    func segments(_ directory: String) throws -> [String] {
        try PosixFileSystem().contentsOfDirectory(directory).filter { $0.hasSuffix(".log") }.sorted().map { directory + "/" + $0 }
    }

    func patch(_ path: String, at offset: Int64, _ change: (inout UInt8) -> Void) throws {
        let handle = try PosixFileSystem().open(path, create: false)
        defer { handle.close() }
        var byte = try handle.read(byteCount: 1, at: offset)
        change(&byte[0])
        try handle.write(byte, at: offset)
    }

    static let payloads: [[UInt8]] = [
        bytes("first"),
        [UInt8](repeating: 0x41, count: 300_000),                   // large enough to be compressed
        (0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }, // barely compresses
        bytes("last"),
    ]

    /// Four incompressible 3,000-byte payloads: with 4 KiB segments, each record gets its own.
    static let rollingPayloads: [[UInt8]] = (0..<4).map { seed in
        var generator = SplitMix64(seed: UInt64(seed))
        return (0..<3_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    @Test func recordsRoundTripInOrder() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try writeLog(directory.path, Self.payloads)
        let (records, recovery) = try recover(directory.path)
        #expect(records.map(\.lsn) == [1, 2, 3, 4])
        #expect(records.map(\.payload) == Self.payloads)
        #expect(records.allSatisfy { $0.kind == .batch })
        // The large payload went to disk as LZ4 (flag bit 0), the small ones raw.
        let segment = try PosixFileSystem().open(try segments(directory.path)[0], create: false)
        defer { segment.close() }
        let flags = try records.map { try segment.read(byteCount: 1, at: $0.offset + Int64(CommitLogFormat.flagsOffset))[0] }
        #expect(flags == [0, CommitLogFormat.flagCompressed, 0, 0])
        #expect(records[2].offset - records[1].offset < 10_000)
        #expect(recovery.tailCut == nil)
        #expect(recovery.log.lastLSN == 4)
    }

    @Test func recoverySkipsRecordsAlreadyApplied() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try writeLog(directory.path, Self.payloads)
        let (records, recovery) = try recover(directory.path, applied: 2)
        #expect(records.map(\.lsn) == [3, 4])
        #expect(recovery.log.lastLSN == 4)
    }

    @Test func appendsContinueInANewSegmentAfterRecovery() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try writeLog(directory.path, Self.payloads)
        let (_, first) = try recover(directory.path)
        var buffer = ByteWriter()
        buffer.reserve(CommitLogFormat.headerBytes)
        buffer.write(contentsOf: bytes("fifth"))
        try first.log.append(kind: .batch, buffer: &buffer)
        try first.log.sync()
        first.log.close()
        #expect(try segments(directory.path).map { String($0.suffix(24)) } == ["00000000000000000001.log", "00000000000000000005.log"])
        let (records, _) = try recover(directory.path)
        #expect(records.map(\.lsn) == [1, 2, 3, 4, 5])
        #expect(records.last?.payload == bytes("fifth"))
    }

    @Test func aTornLastRecordIsCutAtEveryOffset() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let offsets = try writeLog(directory.path, Self.payloads)
        let segment = try segments(directory.path)[0]
        let pristine = try PosixFileSystem().open(segment, create: false)
        let lastStart = offsets[3]
        let image = try pristine.read(byteCount: Int(lastStart) + CommitLogFormat.headerBytes + 4, at: 0)
        pristine.close()
        for cut in Int(lastStart)..<image.count {
            let handle = try PosixFileSystem().open(segment, create: false)
            try handle.truncate(to: 0)
            try handle.write(Array(image[..<cut]), at: 0)
            handle.close()
            let (records, recovery) = try recover(directory.path)
            #expect(records.map(\.lsn) == [1, 2, 3], "cut at \(cut)")
            let leftover = image[Int(lastStart)..<cut]
            if leftover.allSatisfy({ $0 == 0 }) {
                #expect(recovery.tailCut == nil, "cut at \(cut)")
            } else {
                #expect(recovery.tailCut?.offset == lastStart, "cut at \(cut)")
                #expect(recovery.tailCut?.byteCount == Int64(cut) - lastStart, "cut at \(cut)")
            }
            recovery.log.close()
            for extra in try segments(directory.path).dropFirst() { try PosixFileSystem().remove(extra) }
        }
    }

    @Test func aFlippedByteInTheLastRecordIsCut() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let offsets = try writeLog(directory.path, Self.payloads)
        try patch(try segments(directory.path)[0], at: offsets[3] + 20) { $0 ^= 0x01 }
        let (records, recovery) = try recover(directory.path)
        #expect(records.map(\.lsn) == [1, 2, 3])
        let cut = try #require(recovery.tailCut)
        #expect(cut.offset == offsets[3])
        #expect(cut.reason.hasPrefix("a checksum mismatch"))
    }

    @Test func damageFollowedByAWholeRecordIsCorruptionNotATornTail() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let offsets = try writeLog(directory.path, Self.payloads)
        for (field, offset) in [("payload", offsets[1] + 30), ("length", offsets[1] + 5), ("crc", offsets[1])] {
            let segment = try segments(directory.path)[0]
            try patch(segment, at: offset) { $0 ^= 0x10 }
            let error = #expect(throws: EngramError.self, "\(field)") { _ = try recover(directory.path) }
            #expect(error?.code == .corrupt)
            #expect(error?.offset == offsets[1], "\(field)")
            #expect(error?.message.contains("followed by a whole record at offset \(offsets[2])") == true, "\(field): \(error?.message ?? "")")
            try patch(segment, at: offset) { $0 ^= 0x10 }
        }
        #expect(try recover(directory.path).records.count == 4)
    }

    /// Unsynced records may reach the disk in any order in a power cut: a whole record after a torn
    /// one proves nothing unless a sync covered the torn one, so both go with the tail.
    @Test func unsyncedRecordsAfterATornOneAreCutWithIt() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let offsets = try writeLog(directory.path, Self.payloads, syncEach: false)
        try patch(try segments(directory.path)[0], at: offsets[1] + 30) { $0 ^= 0x10 }
        let (records, recovery) = try recover(directory.path)
        #expect(records.map(\.lsn) == [1])
        #expect(recovery.tailCut?.offset == offsets[1])
    }

    @Test func damageInASegmentThatIsNotTheLastIsCorruption() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // Segments so small that every record rolls to a new one.
        try writeLog(directory.path, Self.rollingPayloads, segmentBytes: 4_096)
        let files = try segments(directory.path)
        #expect(files.count == 4)
        try patch(files[1], at: 10) { $0 ^= 0xFF }
        let error = #expect(throws: EngramError.self) { _ = try recover(directory.path) }
        #expect(error?.code == .corrupt)
        #expect(error?.file == files[1])
        #expect(error?.message.hasSuffix("in a segment that is not the last; acknowledged records may be lost") == true)
    }

    @Test func aMissingSegmentIsAGap() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try writeLog(directory.path, Self.rollingPayloads, segmentBytes: 4_096)
        let files = try segments(directory.path)
        try PosixFileSystem().remove(files[1])
        let error = #expect(throws: EngramError.self) { _ = try recover(directory.path) }
        #expect(error?.message == "segment starts at LSN 3, but no segment holds LSNs 2 to 2, past the checkpoint at 0")
        // A gap the checkpoint covers loses nothing, whether the segment before it is still there
        // or removed.
        #expect(try recover(directory.path, applied: 2).records.map(\.lsn) == [3, 4])
        try PosixFileSystem().remove(files[0])
        let (records, _) = try recover(directory.path, applied: 2)
        #expect(records.map(\.lsn) == [3, 4])
    }

    @Test func segmentsCoveredByACheckpointAreRemoved() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try writeLog(directory.path, Self.rollingPayloads, segmentBytes: 4_096)
        let (_, recovery) = try recover(directory.path)
        try recovery.log.removeSegments(coveredBy: 2)
        #expect(try segments(directory.path).map { String($0.suffix(24)) } == ["00000000000000000003.log", "00000000000000000004.log"])
        try recovery.log.removeSegments(coveredBy: 100)
        #expect(try segments(directory.path).count == 1, "the last segment always stays")
    }

    @Test func anUnknownKindOrAnOversizedLengthIsDamage() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let offsets = try writeLog(directory.path, [bytes("only")])
        let segment = try segments(directory.path)[0]
        // An oversized length: the record cannot be believed.
        let handle = try PosixFileSystem().open(segment, create: false)
        try handle.write(withUnsafeBytes(of: UInt32(Self.recordBytesMax + 1).littleEndian) { Array($0) }, at: offsets[0] + 4)
        handle.close()
        let (records, recovery) = try recover(directory.path)
        #expect(records.isEmpty)
        #expect(recovery.tailCut?.reason == "a record length of 524289 bytes, over the limit of 524288")
    }

    // MARK: Spare segments

    /// Appends one synced batch record of `payload`.
    func append(_ log: CommitLog, _ payload: [UInt8]) throws {
        var buffer = ByteWriter()
        buffer.reserve(CommitLogFormat.headerBytes)
        buffer.write(contentsOf: payload)
        try log.append(kind: .batch, buffer: &buffer)
        try log.sync()
    }

    /// A checkpoint keeps removed segments as spares (first header zeroed), the next rolls rename
    /// them into place, and the records written into a spare read back exactly: the end marker
    /// after the last record hides the older records behind it.
    @Test func removedSegmentsBecomeSparesAndTheirOldBytesStayUnread() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = PosixFileSystem()
        let log = try CommitLog.recover(directory: directory.path, fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: Self.recordBytesMax, appliedLSN: 0, spareCountMax: 2) { _ in }.log
        // Each record fills most of a 4 KiB segment: one segment a record.
        for payload in Self.rollingPayloads { try append(log, payload) }
        #expect(try segments(directory.path).count == 4)
        try log.removeSegments(coveredBy: 3)
        let names = try fileSystem.contentsOfDirectory(directory.path).sorted()
        #expect(names == [CommitLogFormat.segmentName(firstLSN: 4), CommitLogFormat.spareName(number: 1), CommitLogFormat.spareName(number: 2)])
        #expect(log.spareCount == 2)
        let spare = try SegmentFiles.read(directory.appending(CommitLogFormat.spareName(number: 1)))
        #expect(spare.count == 4_096)
        #expect(spare.prefix(CommitLogFormat.headerBytes).allSatisfy { $0 == 0 }, "a spare's first header is zeros")
        #expect(!spare.dropFirst(CommitLogFormat.headerBytes).allSatisfy { $0 == 0 }, "the rest keeps the old record")
        // A short record goes into a renamed spare (the active segment retired first, so the
        // append rolls): the old record's bytes lie after it.
        try log.retireActiveSegment()
        try append(log, bytes("short"))
        #expect(log.spareCount == 1)
        log.close()
        var replayed: [(UInt64, [UInt8])] = []
        let recovery = try CommitLog.recover(directory: directory.path, fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: Self.recordBytesMax, appliedLSN: 3, spareCountMax: 2) { replayed.append(($0.lsn, $0.payload)) }
        #expect(recovery.tailCut == nil, "the end marker stops the reader before the old bytes")
        #expect(replayed.map(\.0) == [4, 5])
        #expect(try segments(directory.path).map { String($0.split(separator: "/").last!) } == [CommitLogFormat.segmentName(firstLSN: 4), CommitLogFormat.segmentName(firstLSN: 5), CommitLogFormat.spareName(number: 2)])
        #expect(replayed.last?.1 == bytes("short"))
        #expect(recovery.log.spareCount == 1, "open keeps the spare left")
        // An erase's checkpoint keeps no spare and removes the ones there are.
        try recovery.log.removeSegments(coveredBy: 5, erasing: true)
        #expect(recovery.log.spareCount == 0)
        #expect(try fileSystem.contentsOfDirectory(directory.path).allSatisfy { CommitLogFormat.spareNumber(ofFileNamed: $0) == nil })
    }

    /// A spare of zeros is made when none is left; one that was being written when a crash came
    /// is removed at open.
    @Test func aSpareOfZerosIsPreparedAndAnUnfinishedOneRemoved() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = PosixFileSystem()
        try fileSystem.createDirectory(directory.path)
        try fileSystem.open(directory.appending(CommitLogFormat.spareBeingPreparedName(number: 7)), create: true).close()
        let log = try CommitLog.recover(directory: directory.path, fileSystem: fileSystem, segmentBytes: 8_192, recordBytesMax: Self.recordBytesMax, appliedLSN: 0, spareCountMax: 2) { _ in }.log
        #expect(try fileSystem.contentsOfDirectory(directory.path).isEmpty)
        try log.prepareSpare(pauseMicroseconds: 0)
        #expect(log.spareCount == 1)
        let spare = try SegmentFiles.read(directory.appending(CommitLogFormat.spareName(number: 1)))
        #expect(spare == [UInt8](repeating: 0, count: 8_192))
        try log.prepareSpare(pauseMicroseconds: 0)
        #expect(log.spareCount == 1, "only when there is none")
        try append(log, bytes("into the spare"))
        #expect(log.spareCount == 0)
        #expect(try segments(directory.path) == [directory.appending(CommitLogFormat.segmentName(firstLSN: 1))])
    }
}
