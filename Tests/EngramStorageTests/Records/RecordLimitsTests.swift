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

    @Test func anAppendTooLargeForABatchIsRefusedByTheCommand() throws {
        var limits = Limits()
        limits.batchBytesMax = 32 << 10
        let event = CampaignMetricEvent(campaignID: testID(1), timeMicroseconds: 0, sent: 1, opened: 0, clicked: 0, converted: 0)
        // Each event is logged as 61 bytes in namespace "crm": opcode, length, namespace, record.
        #expect(throws: EngramError(.valueTooLarge, "1000 events take 61000 bytes, over batchBytesMax 32768")) {
            try CampaignMetricAppend(namespace: crm, events: Array(repeating: event, count: 1_000)).validate(limits)
        }
        try CampaignMetricAppend(namespace: crm, events: Array(repeating: event, count: 500)).validate(limits)
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
        #expect(error { $0.campaignMetricAppendCountMax = 100_000 } == nil, "an append too large for a batch is refused by the command")
        #expect(error { $0.leadQueryExamineCountMax = 1_000 } == EngramError(.limitsInvalid, "leadQueryExamineCountMax 1000 must exceed recordPageCountMax 1000: a full page and its look-ahead must fit"))
        #expect(error { $0.campaignMetricDeleteCountMax = 200_000 } == EngramError(.limitsInvalid, "campaignMetricDeleteCountMax 200000 must not exceed campaignDeleteEventCountMax 100000"))
    }
}
