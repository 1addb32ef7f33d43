@testable import EngramStorage
import Testing

@Suite struct RecordLimitsTests {
    func error(_ change: (inout Limits) -> Void) -> EngramError? {
        var limits = Limits()
        change(&limits)
        do {
            try limits.validate()
            return nil
        } catch {
            return error
        }
    }

    @Test func theDefaultsHold() throws {
        try Limits.default.validate()
        #expect(Limits.default.leadRecordBytesMax == 60 + 254 + 2 * 255 + 3 * 64 + 16_384)
    }

    @Test func eachRelationIsNamed() {
        #expect(error { $0.recordPageCountMax = 0 } == EngramError(.limitsInvalid, "recordPageCountMax must be positive, got 0"))
        #expect(error { $0.recordTimeMicrosecondsMax = 0 } == EngramError(.limitsInvalid, "recordTimeMicrosecondsMax must be positive, got 0"))
        #expect(error { $0.recordTextBytesMax = 70_000 } == EngramError(.limitsInvalid, "recordTextBytesMax 70000 must fit a text's u16 length (65535)"))
        #expect(error { $0.leadEmailBytesMax = 500 } == EngramError(.limitsInvalid, "namespaceBytesMax + leadEmailBytesMax + 1 = 565 exceeds LMDB's key limit of 511"))
        #expect(error { $0.recordLabelBytesMax = 450 } == EngramError(.limitsInvalid, "namespaceBytesMax + recordLabelBytesMax + 27 bytes of framing = 541 exceeds LMDB's key limit of 511"))
        #expect(error { $0.leadMetadataBytesMax = 8 << 20 }?.message.hasPrefix("the largest lead (") == true)
        #expect(error { $0.campaignMetricAppendCountMax = 100_000 } == EngramError(.limitsInvalid, "the largest metric append (12200000 bytes logged) must fit one batch (batchBytesMax 8388608)"))
        #expect(error { $0.leadQueryExamineCountMax = 1_000 } == EngramError(.limitsInvalid, "leadQueryExamineCountMax 1000 must exceed recordPageCountMax 1000: a full page and its look-ahead must fit"))
        #expect(error { $0.campaignMetricDeleteCountMax = 200_000 } == EngramError(.limitsInvalid, "campaignMetricDeleteCountMax 200000 must not exceed campaignDeleteEventCountMax 100000"))
    }
}
