/// The storage engine's decoders and readers, opened to the fuzz targets in `Fuzz/` (a package of
/// their own, which sees only public API) and to the tests that replay the crashes they found.
///
/// One function per target. Each runs the real decoder on the fuzzer's bytes and checks what it
/// returns: it must not crash, and what it accepts must be exactly what the bytes encode (what it
/// refuses, it refuses as `.corrupt`). A broken promise traps with a message naming the target,
/// so libFuzzer keeps the input. Each returns whether the decoder accepted the input, which the
/// seed tests use to check that every seed reaches past the first checks.
///
/// Where a checksum guards a layer, a control bit in the input's first byte makes the entry point
/// recompute it, so the fuzzer also explores the layer behind it. The input formats are in
/// docs/TESTING.md. Stateless and thread-safe: every call builds what it needs.
public enum FuzzEntryPoints {
    /// Commit-log segments recovered as at open (`CommitLog.recover`, `SegmentReader`).
    public static func commitLog(_ input: UnsafeRawBufferPointer) -> Bool { CommitLogFuzzTarget.run(input) }

    /// A batch payload and every redo operation in it (`BatchPayloadReader`, `RedoOpcode.decode`).
    public static func redo(_ input: UnsafeRawBufferPointer) -> Bool { RedoFuzzTarget.run(input) }

    /// The checkpoint file (`CheckpointFile.read`, `Checkpoint.decode`).
    public static func checkpoint(_ input: UnsafeRawBufferPointer) -> Bool { CheckpointFuzzTarget.run(input) }

    /// A stored semantic fact (`SemanticFactLayout.decode`).
    public static func semanticFact(_ input: UnsafeRawBufferPointer) -> Bool { SemanticFactFuzzTarget.run(input) }

    /// An episodic block and its records (`EpisodicBlock.decode`, `EpisodeRecordView.parse`).
    public static func episodicBlock(_ input: UnsafeRawBufferPointer) -> Bool { EpisodicBlockFuzzTarget.run(input) }

    /// An episodic segment's tail, scanned as recovery does (`EpisodicLog.scanTail`).
    public static func episodicTail(_ input: UnsafeRawBufferPointer) -> Bool { EpisodicTailFuzzTarget.run(input) }

    /// A lead, campaign or campaign metric event record (`Lead(record:)`, `Campaign(record:)`,
    /// `CampaignMetricEvent(record:)`).
    public static func records(_ input: UnsafeRawBufferPointer) -> Bool { RecordsFuzzTarget.run(input) }

    /// A sequence of hot-tier operations checked against a model (`HotTier`).
    public static func hotTier(_ input: UnsafeRawBufferPointer) -> Bool { HotTierFuzzTarget.run(input) }

    /// Every target by its name in `Fuzz/` (the folder under `Fuzz/Targets/` and `Fuzz/Corpus/`).
    public static let targets: [(name: String, run: @Sendable (UnsafeRawBufferPointer) -> Bool)] = [
        ("commit-log", commitLog),
        ("redo", redo),
        ("checkpoint", checkpoint),
        ("semantic-fact", semanticFact),
        ("episodic-block", episodicBlock),
        ("episodic-tail", episodicTail),
        ("records", records),
        ("hot-tier", hotTier),
    ]
}
