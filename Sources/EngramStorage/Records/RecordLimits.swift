/// The records' relations between bounds (docs/RECORDS.md), checked by `Limits.validate()`.
extension Limits {
    /// The largest lead record: the fixed part, six text lengths, the metadata length, and every
    /// field at its bound.
    var leadRecordBytesMax: Int {
        LeadLayout.fixedBytes + leadEmailBytesMax + 2 * recordTextBytesMax + 3 * recordLabelBytesMax + leadMetadataBytesMax
    }

    func validateRecords(_ require: (Bool, @autoclosure () -> String) throws(EngramError) -> Void) throws(EngramError) {
        let positive: [(String, Int)] = [
            ("leadEmailBytesMax", leadEmailBytesMax), ("recordTextBytesMax", recordTextBytesMax),
            ("recordLabelBytesMax", recordLabelBytesMax), ("leadMetadataBytesMax", leadMetadataBytesMax),
            ("leadMetadataDepthMax", leadMetadataDepthMax), ("recordPageCountMax", recordPageCountMax),
            ("leadQueryExamineCountMax", leadQueryExamineCountMax),
            ("campaignMetricAppendCountMax", campaignMetricAppendCountMax),
            ("leadUpsertBatchCountMax", leadUpsertBatchCountMax), ("campaignUpsertBatchCountMax", campaignUpsertBatchCountMax),
            ("upsertBatchRequestBytesMax", upsertBatchRequestBytesMax),
            ("campaignDeleteEventCountMax", campaignDeleteEventCountMax),
            ("campaignMetricDeleteCountMax", campaignMetricDeleteCountMax),
        ]
        for (name, value) in positive {
            try require(value > 0, "\(name) must be positive, got \(value)")
        }
        try require(campaignBudgetCentsMax > 0, "campaignBudgetCentsMax must be positive, got \(campaignBudgetCentsMax)")
        try require(recordTimeMicrosecondsMax > 0, "recordTimeMicrosecondsMax must be positive, got \(recordTimeMicrosecondsMax)")
        for (name, value) in [("leadEmailBytesMax", leadEmailBytesMax), ("recordTextBytesMax", recordTextBytesMax), ("recordLabelBytesMax", recordLabelBytesMax)] {
            try require(value <= Int(UInt16.max), "\(name) \(value) must fit a text's u16 length (65535)")
        }
        try require(leadMetadataBytesMax <= Int(UInt32.max), "leadMetadataBytesMax \(leadMetadataBytesMax) must fit its u32 length")
        let emailKey = Self.namespacePrefixOverheadBytes + namespaceBytesMax + leadEmailBytesMax
        try require(emailKey <= Self.lmdbKeyBytesMax, "namespaceBytesMax + leadEmailBytesMax + 1 = \(emailKey) exceeds LMDB's key limit of \(Self.lmdbKeyBytesMax)")
        let statusKey = Self.namespacePrefixOverheadBytes + namespaceBytesMax + recordLabelBytesMax + RecordKeys.statusKeySuffixBytes
        try require(statusKey <= Self.lmdbKeyBytesMax, "namespaceBytesMax + recordLabelBytesMax + \(Self.namespacePrefixOverheadBytes + RecordKeys.statusKeySuffixBytes) bytes of framing = \(statusKey) exceeds LMDB's key limit of \(Self.lmdbKeyBytesMax)")
        let leadOperation = RedoFraming.operationBytes(namespaceBytes: namespaceBytesMax, bodyBytes: 4 + leadRecordBytesMax)
        try require(leadOperation <= batchBytesMax, "the largest lead (\(leadOperation) bytes logged) must fit one batch (batchBytesMax \(batchBytesMax))")
        // A metric append of campaignMetricAppendCountMax events may not fit a small batch; the
        // command refuses one that does not (CampaignMetricAppend.validate), so tests and stores
        // with small batches need not know this bound.
        // The wire carries a batch's count as a u16 (docs/PROTOCOL.md, "Upsert batches"). Like a
        // metric append, a full batch of the largest leads may not fit a small writer batch; the
        // command refuses one that does not (UpsertBatch.validate).
        for (name, value) in [("leadUpsertBatchCountMax", leadUpsertBatchCountMax), ("campaignUpsertBatchCountMax", campaignUpsertBatchCountMax)] {
            try require(value <= Int(UInt16.max), "\(name) \(value) must fit the wire's u16 count (65535)")
        }
        try require(leadQueryExamineCountMax > recordPageCountMax, "leadQueryExamineCountMax \(leadQueryExamineCountMax) must exceed recordPageCountMax \(recordPageCountMax): a full page and its look-ahead must fit")
        try require(campaignMetricDeleteCountMax <= campaignDeleteEventCountMax, "campaignMetricDeleteCountMax \(campaignMetricDeleteCountMax) must not exceed campaignDeleteEventCountMax \(campaignDeleteEventCountMax)")
    }
}

/// Bytes a redo operation takes in a batch payload.
enum RedoFraming {
    /// The opcode, the body length, the namespace's length byte and name, and the body.
    static func operationBytes(namespaceBytes: Int, bodyBytes: Int) -> Int {
        1 + 4 + 1 + namespaceBytes + bodyBytes
    }
}
