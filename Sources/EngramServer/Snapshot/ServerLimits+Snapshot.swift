import EngramProtocol
import EngramStorage

extension ServerLimits {
    /// The largest row a snapshot stream carries (docs/PROTOCOL.md, "Streams"): a long-term entry
    /// with the longest key and value, a semantic fact with every tag and dimension, or the
    /// largest episode record.
    func largestSnapshotRowBytes(_ storage: Limits) -> Int {
        let longTerm = 2 + storage.keyBytesMax + 8 + storage.valueBytesMax
        let semantic = 16 + 8 + largestFactBytes(storage)
        let episode = 37 + storage.namespaceBytesMax + storage.episodeAgentBytesMax + 32 + storage.episodeBodyBytesMax
        let lead = 60 + storage.leadEmailBytesMax + 2 * storage.recordTextBytesMax + 3 * storage.recordLabelBytesMax + storage.leadMetadataBytesMax
        return max(longTerm, semantic, episode, lead)
    }

    /// A chunk's rows stop before `snapshotChunkBytesMax` unless the first row alone is larger,
    /// so the largest chunk is the larger of the two, framed; it must fit a response frame.
    func validateSnapshots(against storage: Limits, _ require: (Bool, @autoclosure () -> String) throws(EngramError) -> Void) throws(EngramError) {
        try require(snapshotChunkBytesMax > 0, "snapshotChunkBytesMax must be positive, got \(snapshotChunkBytesMax)")
        try require(snapshotChunkExamineCountMax > 0, "snapshotChunkExamineCountMax must be positive, got \(snapshotChunkExamineCountMax)")
        try require(snapshotChunkExamineBytesMax > 0, "snapshotChunkExamineBytesMax must be positive, got \(snapshotChunkExamineBytesMax)")
        let largestChunk = FrameHeader.byteCount + SnapshotChunk.headerBytes + max(snapshotChunkBytesMax, 4 + largestSnapshotRowBytes(storage))
        try require(largestChunk <= responseFrameBytesMax(storage), "a snapshot chunk may take \(largestChunk) bytes, over the response frame limit \(responseFrameBytesMax(storage)); lower snapshotChunkBytesMax \(snapshotChunkBytesMax)")
        try require(snapshotChunkBytesMax <= Int(UInt32.max), "snapshotChunkBytesMax must fit the u32 field of the open answer")
    }
}
