@testable import EngramStorage
import Testing

/// Every input a fuzz target in `Fuzz/` found that broke a decoder's promise, replayed through the
/// same entry point (which traps if the bug comes back), with the decoder's exact answer. Named
/// after what was wrong; the bytes are the fuzzer's own, in hex.
@Suite struct FuzzRegressionTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func decodeFact(_ bytes: [UInt8]) -> EngramError? {
        syncEngramError { () throws(EngramError) in
            _ = try bytes.withBytes { (buffer) throws(EngramError) in
                try SemanticFactLayout.decode(buffer, id: SemanticFactFuzzTarget.id, source: "fact")
            }
        }
    }

    // MARK: redo

    /// A retention step's `final` byte of 0xee was read as true, so the operation encoded back as
    /// 1: the decoder accepted a byte the encoder never writes.
    @Test func aRetentionStepWithAFinalFlagOtherThanZeroOrOneIsRefused() throws {
        let input = Self.hex("00000000600a0000010000000611000000090000363636363636363649ee00000000")
        #expect(input.withUnsafeBytes(FuzzEntryPoints.redo) == false)
        let error = syncEngramError { () throws(EngramError) in
            try input.withBytes { (buffer) throws(EngramError) in
                var payload = try BatchPayloadReader(buffer, source: "payload", baseOffset: 0)
                while try payload.nextOperation() != nil {}
            }
        }
        #expect(error?.code == .corrupt)
        #expect(error?.message == "a final flag of 238; a retention step writes 0 or 1")
        #expect(error?.offset == 30)
    }

    // MARK: semantic-fact

    /// A tag of length 0 was accepted; the write path refuses empty tags, so no store holds one.
    @Test func aFactWithAnEmptyTagIsRefused() {
        let input = Self.hex("0101c4c400000025000100010000c1c42500000000")
        #expect(input.withUnsafeBytes(FuzzEntryPoints.semanticFact) == false)
        let error = Self.decodeFact(input)
        #expect(error?.code == .corrupt)
        #expect(error?.message == "an empty tag; the write path refuses them")
    }

    /// NaN components were accepted; the write path stores only finite ones, and a NaN would make
    /// every similarity computed with the vector NaN.
    @Test func aFactWithANonFiniteVectorComponentIsRefused() {
        let input = Self.hex("018e268e8e8e8e0000000200fcfffffff7ffffff00000000")
        #expect(input.withUnsafeBytes(FuzzEntryPoints.semanticFact) == false)
        let error = Self.decodeFact(input)
        #expect(error?.code == .corrupt)
        #expect(error?.message == "vector component 0 is -nan(0x1ffffc) (bits 0xfffffffc); the write path stores only finite ones")
    }

    /// The tag bytes 00 f8 are not UTF-8; decoding replaced them with U+FFFD, so the fact read
    /// back was not the fact stored (it re-encoded as 22 bytes, not 20).
    @Test func aFactWithATagThatIsNotUTF8IsRefused() {
        let input = Self.hex("01410172002f007200010200f8000001000000f8")
        #expect(input.withUnsafeBytes(FuzzEntryPoints.semanticFact) == false)
        let error = Self.decodeFact(input)
        #expect(error?.code == .corrupt)
        #expect(error?.message == "a tag that is not UTF-8")
    }

    // MARK: commit-log

    /// An empty first segment with the checkpoint at LSN 1: recovery accepted it and the next
    /// append started segment 2, after which recovery refused the log for the LSN missing between
    /// the segments, although the checkpoint covered it.
    @Test func aLogThatEndsBeforeTheCheckpointStillRecoversAfterAnAppend() throws {
        #expect(Self.hex("0a").withUnsafeBytes(FuzzEntryPoints.commitLog))
        let fileSystem = MemoryFileSystem()
        try fileSystem.createDirectory("/log")
        try fileSystem.setContents([UInt8](repeating: 0, count: 64), of: "/log/" + CommitLogFormat.segmentName(firstLSN: 1))
        let log = try CommitLog.recover(directory: "/log", fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: 4_096, appliedLSN: 1) { _ in }.log
        #expect(log.lastLSN == 1)
        var buffer = ByteWriter()
        buffer.reserve(CommitLogFormat.headerBytes)
        buffer.write(contentsOf: bytes("after"))
        try log.append(kind: .batch, buffer: &buffer)
        try log.sync()
        log.close()
        var replayed: [UInt64] = []
        let again = try CommitLog.recover(directory: "/log", fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: 4_096, appliedLSN: 1) { replayed.append($0.lsn) }
        #expect(replayed == [2])
        #expect(again.tailCut == nil)
    }

    /// A record whose flags were 0x8d (the compression bit and three unknown ones) with a valid
    /// checksum was replayed as compressed: the reader tested bit 0 alone, and docs/STORAGE.md
    /// says every other bit must be zero. Here the damaged record is the last segment's tail, so
    /// recovery cuts it (nothing after it proves it was synced) instead of replaying it.
    @Test func aRecordWithUnknownFlagsBesideTheCompressionBitIsDamage() throws {
        let input = Self.hex("3186caa4000500000001000000000000000000000000000000018d0000000000000000000000caca000000000000ca000000000000000100000000000000c5c500008d000000000006")
        #expect(input.withUnsafeBytes(FuzzEntryPoints.commitLog))
        let fileSystem = MemoryFileSystem()
        try fileSystem.createDirectory("/log")
        var buffer = ByteWriter()
        buffer.reserve(CommitLogFormat.headerBytes)
        buffer.write(contentsOf: bytes("payload"))
        let log = try CommitLog.recover(directory: "/log", fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: 4_096, appliedLSN: 0) { _ in }.log
        try log.append(kind: .batch, buffer: &buffer)
        try log.sync()
        log.close()
        // Set an unknown flag bit beside bit 0 and make the checksum right again.
        let path = "/log/" + CommitLogFormat.segmentName(firstLSN: 1)
        var file = try #require(fileSystem.contents(of: path))
        file[CommitLogFormat.flagsOffset] = CommitLogFormat.flagCompressed | 0x80
        // Only this record: the segment's preallocated zeros after it stay zeros.
        let recordEnd = CommitLogFormat.headerBytes + Int(FuzzChecksums.u32(file, at: 4))
        FuzzChecksums.storeMaskedChecksum(of: 4..<recordEnd, in: &file, at: 0)
        try fileSystem.setContents(file, of: path)
        var replayed: [UInt64] = []
        let recovered = try CommitLog.recover(directory: "/log", fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: 4_096, appliedLSN: 0) { replayed.append($0.lsn) }
        #expect(replayed.isEmpty)
        #expect(recovered.tailCut?.offset == 0)
        #expect(recovered.tailCut?.reason == "unknown flags 129")
        recovered.log.close()
    }

    /// The converse the same rule closes: LSNs missing past the checkpoint, before the first
    /// segment, may have been acknowledged, so recovery refuses instead of going on after them.
    @Test func aLogWhoseFirstSegmentStartsPastTheCheckpointIsCorrupt() throws {
        let fileSystem = MemoryFileSystem()
        try fileSystem.createDirectory("/log")
        try fileSystem.setContents([UInt8](repeating: 0, count: 64), of: "/log/" + CommitLogFormat.segmentName(firstLSN: 5))
        let error = syncEngramError { () throws(EngramError) in
            _ = try CommitLog.recover(directory: "/log", fileSystem: fileSystem, segmentBytes: 4_096, recordBytesMax: 4_096, appliedLSN: 2) { _ in }
        }
        #expect(error?.code == .corrupt)
        #expect(error?.message == "segment starts at LSN 5, but no segment holds LSNs 3 to 4, past the checkpoint at 2")
        #expect(error?.file == "/log/" + CommitLogFormat.segmentName(firstLSN: 5))
    }
}
