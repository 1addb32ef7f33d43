@testable import EngramStorage
import Testing

@Suite struct LimitsTests {
    @Test func defaultsAreConsistent() throws {
        try Limits.default.validate()
    }

    @Test func zeroBoundIsNamed() {
        var limits = Limits()
        limits.writerQueueDepthMax = 0
        #expect(throws: EngramError(.limitsInvalid, "writerQueueDepthMax must be positive, got 0")) { try limits.validate() }
    }

    @Test func keyAndNamespaceMustFitAnLMDBKey() {
        var limits = Limits()
        limits.keyBytesMax = 440
        #expect(throws: EngramError(.limitsInvalid, "namespaceBytesMax + keyBytesMax + 17 bytes of framing = 521 exceeds LMDB's key limit of 511")) { try limits.validate() }
    }

    @Test func largestValueMustFitABatch() {
        var limits = Limits()
        limits.batchBytesMax = 1 << 20
        let error = #expect(throws: EngramError.self) { try limits.validate() }
        #expect(error?.code == .limitsInvalid)
        #expect(error?.message.contains("must fit one batch (batchBytesMax 1048576)") == true)
    }

    @Test func batchMustFitACommitLogSegment() {
        var limits = Limits()
        limits.commitLogSegmentBytes = 8 << 20
        let error = #expect(throws: EngramError.self) { try limits.validate() }
        #expect(error?.message == "a full batch (batchBytesMax 8388608) must fit one commit-log segment (commitLogSegmentBytes 8388608)")
    }

    @Test func batchCountMustNotExceedQueueDepth() {
        var limits = Limits()
        limits.writerQueueDepthMax = 100
        #expect(throws: EngramError(.limitsInvalid, "batchCountMax 1024 exceeds writerQueueDepthMax 100: a batch could never fill")) { try limits.validate() }
    }

    @Test func batchWaitIsBounded() {
        var limits = Limits()
        limits.batchWaitMicroseconds = 5_000
        #expect(throws: EngramError(.limitsInvalid, "batchWaitMicroseconds 5000 exceeds batchWaitMicrosecondsMax 1000")) { try limits.validate() }
    }

    @Test func mapMustHoldBatches() {
        var limits = Limits()
        limits.mapBytes = 8 << 20
        #expect(throws: EngramError(.limitsInvalid, "mapBytes 8388608 is below mapBytesMin 16777216")) { try limits.validate() }
    }

    @Test func openRefusesInvalidLimits() async {
        var limits = Limits()
        limits.scanCountMax = -1
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let error = await engramError { _ = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: limits)) }
        #expect(error == EngramError(.limitsInvalid, "scanCountMax must be positive, got -1"))
    }
}
