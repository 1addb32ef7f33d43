/// Every bound the storage engine has, in one place, each with the reason for its value.
///
/// A store is opened with one `Limits` value and keeps it for its life. `validate()` checks the
/// relations between the bounds (a value must fit in a batch, a key with its prefix must fit in an
/// LMDB key) and runs when a store opens, so a bad configuration fails at start-up with a message
/// rather than at the first large write. Names end in their unit.
public struct Limits: Sendable, Equatable {
    // MARK: Keys and values

    /// Namespace names are identifiers, not data; every stored key carries the name as its prefix.
    public var namespaceBytesMax: Int = 64
    /// Agents use keys as names; the key plus its namespace prefix must fit LMDB's 511-byte key.
    public var keyBytesMax: Int = 256
    /// Long-term values and semantic fact bodies: large enough for a document, small enough that
    /// one value cannot monopolise a group-commit batch or a frame.
    public var valueBytesMax: Int = 1 << 20

    // MARK: Semantic facts

    /// Tags filter searches; a handful per fact is the use, dozens would make filters slow.
    public var semanticTagCountMax: Int = 32
    /// A tag is a short label.
    public var semanticTagBytesMax: Int = 64
    /// Embedding models in use produce 384 to 3,072 dimensions; 4,096 leaves room.
    public var semanticVectorDimensionsMax: Int = 4096

    // MARK: Group commit

    /// Requests waiting for the writer. 1,000 connections with 16 pipelined writes each fit; past
    /// that, callers get `busy` at once instead of waiting in an unbounded line.
    public var writerQueueDepthMax: Int = 16_384
    /// Requests applied in one LMDB transaction and one commit-log record. Bounds the time one
    /// commit holds the writer and the latency of the last request in it.
    public var batchCountMax: Int = 1_024
    /// Payload bytes in one batch. Bounds the commit-log record and the transaction's dirty pages.
    public var batchBytesMax: Int = 8 << 20
    /// How long the writer holds a batch open for more requests after the first arrives. Zero means
    /// no waiting: a batch is whatever queued while the previous batch was syncing.
    public var batchWaitMicroseconds: Int = 0
    /// The most `batchWaitMicroseconds` may be set to: past a millisecond the wait costs more latency
    /// than the fsyncs it saves.
    public var batchWaitMicrosecondsMax: Int = 1_000
    /// Writes in `applied` mode are synced at most this long after they were acknowledged; it is
    /// exactly what a power loss may take from them.
    public var appliedSyncDelayMilliseconds: Int = 10

    // MARK: Commit log, write buffers and checkpoints

    /// Commit-log files are preallocated to this size so an append never meets a full disk half-way.
    public var commitLogSegmentBytes: Int = 64 << 20
    /// Segments a checkpoint keeps as spares instead of removing them, renamed into place at the
    /// next rolls. Their blocks are written already, so a sync of records appended to them is a
    /// flush of data, not a file-system journal commit (p50 0.11 ms against 0.19 here); two cover
    /// the rolls between two checkpoints under the heaviest load measured.
    public var commitLogSpareSegmentCountMax: Int = 2
    /// Log bytes written since the last checkpoint that start a new one; bounds replay at open.
    public var checkpointLogBytes: Int = 32 << 20
    /// A checkpoint also runs once the active write buffer's oldest batch is this old, so LMDB and
    /// the log's length follow the writes even when they are few.
    public var checkpointIntervalMilliseconds: Int = 5_000
    /// How long the checkpoint thread waits before trying a failed checkpoint again: long enough
    /// not to spin on a full disk, short enough that writes resume soon after space is freed.
    public var checkpointRetryMilliseconds: Int = 1_000
    /// A write buffer is frozen for a checkpoint once it holds this much memory. Larger buffers
    /// write a page that many batches changed once instead of once per checkpoint, and take longer
    /// to apply; 64 MiB is about a second of the heaviest write load measured here.
    public var writeBufferBytesMax: Int = 64 << 20
    /// The longest pause of a checkpoint's paced writeback after one window of pages (docs/STORAGE.md,
    /// "Checkpoints", step 5): it pauses as long as the window took, up to this, so it writes at
    /// about half the disk's speed and the log's syncs meet little of it. 0 writes back unpaced.
    public var checkpointWritebackPauseMicrosecondsMax: Int = 2_000
    /// Write buffers at once, the active one included: while the checkpoint thread applies one,
    /// the next fills. When all are full the writer waits, and callers get `busy` from the full
    /// queue rather than the store growing without bound.
    public var writeBufferCountMax: Int = 4

    // MARK: LMDB

    /// Address space reserved for the LMDB file (sparse; disk is used only as data grows). When it
    /// is full, writes fail with `mapFull`: growing it safely needs every reader stopped.
    public var mapBytes: Int = 64 << 30
    /// The smallest map that holds the engine's own tables and a useful amount of data.
    public var mapBytesMin: Int = 16 << 20
    /// Reader slots in LMDB's lock table: the pooled read transactions, the writer's and snapshots'.
    public var lmdbReadersMax: Int = 512
    /// Named databases: long-term, semantic, meta, and room for the record tables and indexes.
    public var lmdbDatabasesMax: Int = 32

    // MARK: Scans

    /// Entries in one page of a prefix scan; a caller pages on with the resume key.
    public var scanCountMax: Int = 1_000
    /// Bytes of keys and values in one page of a scan, so a page of large values stays bounded.
    public var scanBytesMax: Int = 4 << 20

    // MARK: Hot tier (docs/HOT_TIER.md)

    /// Bytes of item storage, preallocated at open: short-term items and cached long-term values
    /// together never use more. 256 MiB holds about a million items of 200 bytes.
    public var hotTierBytes: Int = 256 << 20
    /// A slab page, given to one size class at a time. It is also the largest item, as in
    /// memcached: a bigger page wastes more when classes hold partly used pages.
    public var hotTierSlabPageBytes: Int = 1 << 20
    /// The smallest chunk: the 24-byte header plus a short namespace, key and value.
    public var hotTierChunkBytesMin: Int = 48
    /// Each size class's chunk is this percentage of the one before. 110 loses about 5 % of an item
    /// to rounding (memcached's 125 loses about 11 %, which alone would pass the 64-byte per-item
    /// overhead goal); the 95 classes it makes lean on page moves against calcification.
    public var hotTierChunkGrowthPercent: Int = 110
    /// Index locks (a power of two). With 64, two threads meet on one lock about once in 64
    /// operations; more costs 128 bytes each and nothing else.
    public var hotTierStripeCount: Int = 64
    /// Budget bytes per index bucket (4 bytes each): with items of 256 bytes or more, chains
    /// average one item or less; the index costs 1/64 of the budget.
    public var hotTierBytesPerIndexBucket: Int = 256
    /// The index and tables the hot tier keeps on top of its budget, so a large budget cannot
    /// bring a large unplanned overhead with it; `validate()` computes them.
    public var hotTierBookkeepingBytesMax: Int = 16 << 20
    /// The TTL of a short-term put that names none: working memory outlives a conversation turn.
    public var hotTierDefaultTTLSeconds: Int = 300
    /// The longest TTL, 30 days: a longer one is more likely a Unix time sent as a TTL by mistake.
    public var hotTierTTLSecondsMax: Int = 30 * 86_400
    /// The share of the budget long-term cache entries may hold, so a burst of long-term reads
    /// cannot push agents' working memory out.
    public var hotTierLongTermCachePercentMax: Int = 50
    /// Keys in one multi-get: bounds the work and the response of one request.
    public var hotTierMultiGetKeyCountMax: Int = 1_000
    /// Pages' worth of evicted chunks between two page-balance checks. At most one page moves per
    /// check, so moves add at most 1/4 to the eviction churn.
    public var hotTierRebalanceEvictedPages: Int = 4
    // MARK: Episodic log (docs/EPISODIC.md)

    /// Agent ids are short names (a role and a number), not data; every index key carries one.
    public var episodeAgentBytesMax: Int = 64
    /// An episode is an event's attributes (channel, page, UTM fields, a decision's reasons); a
    /// document belongs in long-term memory. One record must fit one block.
    public var episodeBodyBytesMax: Int = 32 << 10
    /// Episodes in one append command, so one command cannot hold the writer for long.
    public var episodeAppendCountMax: Int = 4_096
    /// Raw record bytes in one block: enough repetition for LZ4, little to decompress per read.
    public var episodicBlockBytes: Int = 64 << 10
    /// Segment files are preallocated to this size, so a block write after commit cannot meet a
    /// full disk; retention removes whole segments, so this is also its granularity.
    public var episodicSegmentBytes: Int = 64 << 20
    /// Retention keeps the newest segments whose bytes add up to at most this.
    public var episodicRetentionBytes: Int = 64 << 30
    /// Retention removes a sealed segment whose newest episode is older than this.
    public var episodicRetentionSeconds: Int = 90 * 86_400
    /// Episodes in one page of a range read or scan; a caller pages on with `next`.
    public var episodeReadCountMax: Int = 10_000
    /// Episodes a follower holds at once; a slow consumer reads the rest from the segments later.
    public var episodeFollowPageCountMax: Int = 1_024
    // MARK: Records (docs/RECORDS.md)

    /// RFC 5321 limits a forward path to 256 octets with its angle brackets: 254 for the address.
    public var leadEmailBytesMax: Int = 254
    /// Names (a lead's name and company, a campaign's name) are display text, not documents.
    public var recordTextBytesMax: Int = 255
    /// Labels (status, source, category, campaign type) are short words compared exactly; every
    /// index key of a status carries one.
    public var recordLabelBytesMax: Int = 64
    /// A lead's JSON metadata holds attributes (UTM fields, form answers); documents belong in
    /// long-term memory, and a lead record stays small enough to read 100 of in microseconds.
    public var leadMetadataBytesMax: Int = 16 << 10
    /// JSON nesting the validator accepts: deep enough for any attribute bag, shallow enough that a
    /// reader in any language can recurse without risk.
    public var leadMetadataDepthMax: Int = 32
    /// Rows in one page of a lead query, campaign query, event or hourly read: bounds a response.
    public var recordPageCountMax: Int = 1_000
    /// Index entries one lead-query page may examine; only the source filter (no index) rejects
    /// entries, so this bounds the work a rare source can cause.
    public var leadQueryExamineCountMax: Int = 10_000
    /// Events in one metric append command, so one command cannot hold the writer for long.
    public var campaignMetricAppendCountMax: Int = 1_024
    /// Leads in one upsert batch (bulk loading): a thousand amortise a round trip and a sync over
    /// enough leads that neither shows, and hold the writer for a few milliseconds.
    public var leadUpsertBatchCountMax: Int = 1_024
    /// Campaigns in one upsert batch, bounded for the same reason as leads.
    public var campaignUpsertBatchCountMax: Int = 1_024
    /// Bytes of the records of one upsert batch request (each record and its u32 length): a
    /// thousand typical leads take about 250 KiB, and 1 MiB bounds what one command decodes and
    /// validates before the writer sees it, and what it logs, whatever the items' sizes.
    public var upsertBatchRequestBytesMax: Int = 1 << 20
    /// Events a campaign delete removes in its one transaction; bounds the writer's time (about
    /// 0.1 s); a larger campaign is trimmed first with metric deletes.
    public var campaignDeleteEventCountMax: Int = 100_000
    /// Events one metrics delete removes.
    public var campaignMetricDeleteCountMax: Int = 10_000
    /// 2^53 cents: exact as a double or a JSON number in every client.
    public var campaignBudgetCentsMax: Int64 = 1 << 53
    /// The last microsecond of year 9999: a larger time is a unit mistake (nanoseconds), and the
    /// range fits PostgreSQL's timestamptz for export.
    public var recordTimeMicrosecondsMax: Int64 = 253_402_300_799_999_999

    // MARK: Consolidation and erase (docs/LIFECYCLE.md)

    /// Time between background consolidation passes; 0 runs none (tests call `consolidate()`).
    /// A minute keeps expired memory and unfolded history small without waking an idle store often.
    public var consolidationIntervalMilliseconds: Int = 60_000
    /// Wall time of one consolidation pass, checked between its commands, so a pass with a large
    /// backlog leaves the rest to the next one instead of competing with clients for long.
    public var consolidationPassMilliseconds: Int = 1_000
    /// How long one consolidation or erase command may hold the writer: a batch with such a
    /// command delays the requests behind it by at most this much more.
    public var maintenanceCommandMicrosecondsMax: Int = 2_000
    /// Events folded, keys deleted or index entries rekeyed by one maintenance command: the count
    /// bound beside the time bound, so a fast machine still makes small, steady steps.
    public var maintenanceCommandItemCountMax: Int = 1_024
    /// Chunks one expiry sweep call visits; it holds a size class's lock while it walks.
    public var hotTierSweepChunkCountMax: Int = 4_096
    /// How long an erase's episodic purge waits for a running retention or recompression pass
    /// before it gives up with `busy` (its marker stays; a later call carries on).
    public var maintenanceWaitMilliseconds: Int = 10_000
    // MARK: Snapshots (docs/EXPORT.md)

    /// Snapshots open at once. Each holds an LMDB read transaction (a reader slot) for its life.
    public var snapshotCountMax: Int = 8
    /// How long a snapshot may be held. Its read transaction pins every page it can see, so LMDB
    /// cannot reuse the pages later commits free and the file grows by about 4 KiB per random
    /// update until it ends; 10 minutes streams ten million leads at the export's rate.
    public var snapshotHoldSecondsMax: Int = 600

    /// The default bounds.
    public static let `default` = Limits()

    public init() {}

    /// The largest key LMDB accepts in its default build (`mdb_env_get_maxkeysize`).
    static let lmdbKeyBytesMax = 511
    /// Bytes a namespace prefix adds to a key: a one-byte length before the name.
    static let namespacePrefixOverheadBytes = 1
    /// The longest suffix any table appends after the namespace prefix and key (an index's
    /// 8-byte sequence or 16-byte id).
    static let keySuffixBytesMax = 16
    /// Commit-log record header and per-operation framing, over the payload bytes.
    static let commitLogOverheadBytes = 4_096

    /// Checks every bound and the relations between them; the error names the first broken one.
    public func validate() throws(EngramError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(EngramError) {
            if !condition { throw EngramError(.limitsInvalid, message()) }
        }
        let positive: [(String, Int)] = [
            ("namespaceBytesMax", namespaceBytesMax), ("keyBytesMax", keyBytesMax),
            ("valueBytesMax", valueBytesMax), ("semanticTagCountMax", semanticTagCountMax),
            ("semanticTagBytesMax", semanticTagBytesMax),
            ("semanticVectorDimensionsMax", semanticVectorDimensionsMax),
            ("writerQueueDepthMax", writerQueueDepthMax), ("batchCountMax", batchCountMax),
            ("batchBytesMax", batchBytesMax), ("commitLogSegmentBytes", commitLogSegmentBytes),
            ("checkpointLogBytes", checkpointLogBytes),
            ("checkpointIntervalMilliseconds", checkpointIntervalMilliseconds),
            ("checkpointRetryMilliseconds", checkpointRetryMilliseconds),
            ("writeBufferBytesMax", writeBufferBytesMax), ("writeBufferCountMax", writeBufferCountMax),
            ("appliedSyncDelayMilliseconds", appliedSyncDelayMilliseconds),
            ("lmdbReadersMax", lmdbReadersMax), ("lmdbDatabasesMax", lmdbDatabasesMax),
            ("scanCountMax", scanCountMax), ("scanBytesMax", scanBytesMax),
            ("hotTierBytes", hotTierBytes), ("hotTierSlabPageBytes", hotTierSlabPageBytes),
            ("hotTierChunkBytesMin", hotTierChunkBytesMin), ("hotTierStripeCount", hotTierStripeCount),
            ("hotTierBytesPerIndexBucket", hotTierBytesPerIndexBucket),
            ("hotTierBookkeepingBytesMax", hotTierBookkeepingBytesMax),
            ("hotTierTTLSecondsMax", hotTierTTLSecondsMax),
            ("hotTierMultiGetKeyCountMax", hotTierMultiGetKeyCountMax),
            ("hotTierRebalanceEvictedPages", hotTierRebalanceEvictedPages),
            ("episodeAgentBytesMax", episodeAgentBytesMax), ("episodeBodyBytesMax", episodeBodyBytesMax),
            ("episodeAppendCountMax", episodeAppendCountMax), ("episodicBlockBytes", episodicBlockBytes),
            ("episodicSegmentBytes", episodicSegmentBytes), ("episodicRetentionBytes", episodicRetentionBytes),
            ("episodicRetentionSeconds", episodicRetentionSeconds), ("episodeReadCountMax", episodeReadCountMax),
            ("episodeFollowPageCountMax", episodeFollowPageCountMax),
        ]
        for (name, value) in positive {
            try require(value > 0, "\(name) must be positive, got \(value)")
        }
        try require(namespaceBytesMax <= 255, "namespaceBytesMax \(namespaceBytesMax) must fit its one-byte length prefix (255)")
        let longestKey = Self.namespacePrefixOverheadBytes + namespaceBytesMax + keyBytesMax + Self.keySuffixBytesMax
        try require(longestKey <= Self.lmdbKeyBytesMax, "namespaceBytesMax + keyBytesMax + \(Self.namespacePrefixOverheadBytes + Self.keySuffixBytesMax) bytes of framing = \(longestKey) exceeds LMDB's key limit of \(Self.lmdbKeyBytesMax)")
        try require(batchWaitMicroseconds >= 0, "batchWaitMicroseconds must not be negative, got \(batchWaitMicroseconds)")
        try require(batchWaitMicroseconds <= batchWaitMicrosecondsMax, "batchWaitMicroseconds \(batchWaitMicroseconds) exceeds batchWaitMicrosecondsMax \(batchWaitMicrosecondsMax)")
        let largestFact = valueBytesMax + semanticTagCountMax * (semanticTagBytesMax + 1) + semanticVectorDimensionsMax * 4
        try require(largestFact <= batchBytesMax, "the largest semantic fact (\(largestFact) bytes) must fit one batch (batchBytesMax \(batchBytesMax))")
        try require(keyBytesMax + valueBytesMax <= batchBytesMax, "the largest put (\(keyBytesMax + valueBytesMax) bytes) must fit one batch (batchBytesMax \(batchBytesMax))")
        try require(batchBytesMax + Self.commitLogOverheadBytes * 2 <= commitLogSegmentBytes, "a full batch (batchBytesMax \(batchBytesMax)) must fit one commit-log segment (commitLogSegmentBytes \(commitLogSegmentBytes))")
        try require(batchCountMax <= writerQueueDepthMax, "batchCountMax \(batchCountMax) exceeds writerQueueDepthMax \(writerQueueDepthMax): a batch could never fill")
        try require(mapBytes >= mapBytesMin, "mapBytes \(mapBytes) is below mapBytesMin \(mapBytesMin)")
        try require(checkpointWritebackPauseMicrosecondsMax >= 0 && checkpointWritebackPauseMicrosecondsMax <= 100_000, "checkpointWritebackPauseMicrosecondsMax must be 0 to 100,000, got \(checkpointWritebackPauseMicrosecondsMax)")
        try require(commitLogSpareSegmentCountMax >= 0, "commitLogSpareSegmentCountMax must not be negative, got \(commitLogSpareSegmentCountMax)")
        try require(writeBufferCountMax >= 2, "writeBufferCountMax \(writeBufferCountMax) must allow the active buffer and one being checkpointed")
        try require(lmdbDatabasesMax + 2 <= WriteBuffer.tableCountMax, "lmdbDatabasesMax \(lmdbDatabasesMax) leaves database handles past the write buffer's \(WriteBuffer.tableCountMax) tables (LMDB's two own handles come first)")
        try require(mapBytes >= batchBytesMax * 4, "mapBytes \(mapBytes) must hold at least four full batches (batchBytesMax \(batchBytesMax))")
        try require(lmdbReadersMax >= 4, "lmdbReadersMax \(lmdbReadersMax) must leave room for the writer, a snapshot and at least two readers")
        try require(scanBytesMax >= keyBytesMax + valueBytesMax, "scanBytesMax \(scanBytesMax) must hold at least one entry (\(keyBytesMax + valueBytesMax) bytes)")
        try validateRecords(require)
        try validateLifecycle(require)
        try validateHotTier(require)
        try validateSnapshots(require)
    }

    /// The hot tier's relations; the positive checks have run.
    private func validateHotTier(_ require: (Bool, @autoclosure () -> String) throws(EngramError) -> Void) throws(EngramError) {
        let page = hotTierSlabPageBytes
        try require(page % 8 == 0 && page >= 1_024, "hotTierSlabPageBytes \(page) must be a multiple of 8 and at least 1024")
        try require(hotTierBytes % page == 0, "hotTierBytes \(hotTierBytes) must be a whole number of slab pages (hotTierSlabPageBytes \(page))")
        try require(hotTierBytes / page >= 2, "hotTierBytes \(hotTierBytes) must hold at least two slab pages of \(page) bytes")
        try require(hotTierBytes < HotTierLayout.arenaBytesLimit, "hotTierBytes \(hotTierBytes) must be below \(HotTierLayout.arenaBytesLimit): chunk references are 32-bit counts of 8-byte units")
        try require(hotTierChunkBytesMin >= HotTierLayout.headerBytes + 8, "hotTierChunkBytesMin \(hotTierChunkBytesMin) must hold the \(HotTierLayout.headerBytes)-byte header and 8 bytes")
        try require(hotTierChunkBytesMin * 2 <= page, "hotTierChunkBytesMin \(hotTierChunkBytesMin) must be at most half of hotTierSlabPageBytes \(page)")
        try require((105...200).contains(hotTierChunkGrowthPercent), "hotTierChunkGrowthPercent \(hotTierChunkGrowthPercent) must be 105 to 200")
        let largestKeyItem = HotTierLayout.itemBytes(namespaceBytes: namespaceBytesMax, keyBytes: keyBytesMax, valueBytes: 0, isLongTermCache: true)
        try require(largestKeyItem <= page, "hotTierSlabPageBytes \(page) must hold an item with the longest namespace and key (\(largestKeyItem) bytes)")
        try require(hotTierStripeCount & (hotTierStripeCount - 1) == 0, "hotTierStripeCount \(hotTierStripeCount) must be a power of two")
        let layout = HotTierLayout(self)
        try require(layout.stripeCount <= layout.bucketCount, "hotTierStripeCount \(hotTierStripeCount) exceeds the \(layout.bucketCount) index buckets")
        try require(layout.classCount <= HotTierLayout.classCountMax, "the size classes number \(layout.classCount), more than \(HotTierLayout.classCountMax); raise hotTierChunkGrowthPercent")
        try require(layout.bookkeepingBytes <= hotTierBookkeepingBytesMax, "the hot tier's index and tables take \(layout.bookkeepingBytes) bytes, over hotTierBookkeepingBytesMax \(hotTierBookkeepingBytesMax); raise it or hotTierBytesPerIndexBucket")
        try require(hotTierDefaultTTLSeconds >= 0 && hotTierDefaultTTLSeconds <= hotTierTTLSecondsMax, "hotTierDefaultTTLSeconds \(hotTierDefaultTTLSeconds) must be 0 to hotTierTTLSecondsMax \(hotTierTTLSecondsMax)")
        try require(hotTierTTLSecondsMax <= HotTierLayout.ttlSecondsLimit, "hotTierTTLSecondsMax \(hotTierTTLSecondsMax) must be at most \(HotTierLayout.ttlSecondsLimit)")
        try require((0...100).contains(hotTierLongTermCachePercentMax), "hotTierLongTermCachePercentMax \(hotTierLongTermCachePercentMax) must be 0 to 100")
        try validateEpisodic(require)
    }

    /// The episodic log's relations: a record fits a block and a batch, a block fits a segment,
    /// every index key fits LMDB, a block's record count fits its u16.
    private func validateEpisodic(_ require: (Bool, @autoclosure () -> String) throws(EngramError) -> Void) throws(EngramError) {
        try require(episodeAgentBytesMax <= 255, "episodeAgentBytesMax \(episodeAgentBytesMax) must fit its one-byte length prefix (255)")
        let indexKey = namespaceBytesMax + episodeAgentBytesMax + EpisodicFormat.indexKeyOverheadBytes
        try require(indexKey <= Self.lmdbKeyBytesMax, "namespaceBytesMax + episodeAgentBytesMax + \(EpisodicFormat.indexKeyOverheadBytes) bytes of framing = \(indexKey) exceeds LMDB's key limit of \(Self.lmdbKeyBytesMax)")
        let record = episodeRecordBytesMax
        try require(record <= episodicBlockBytes, "the largest episode record (\(record) bytes) must fit one block (episodicBlockBytes \(episodicBlockBytes))")
        try require(record <= batchBytesMax, "the largest episode record (\(record) bytes) must fit one batch (batchBytesMax \(batchBytesMax))")
        try require(episodicBlockBytes / EpisodicFormat.recordHeaderBytes <= Int(UInt16.max), "episodicBlockBytes \(episodicBlockBytes) could hold more records than a block's u16 count")
        let block = EpisodicFormat.blockBytesMax(rawBytes: episodicBlockBytes)
        try require(EpisodicFormat.segmentHeaderBytes + 2 * block <= episodicSegmentBytes, "episodicSegmentBytes \(episodicSegmentBytes) must hold the segment header and two of the largest blocks (\(block) bytes each)")
        try require(episodicSegmentBytes <= Int(Int32.max), "episodicSegmentBytes \(episodicSegmentBytes) must stay below 2 GiB")
        try require(episodicRetentionBytes >= episodicSegmentBytes, "episodicRetentionBytes \(episodicRetentionBytes) must keep at least one segment (episodicSegmentBytes \(episodicSegmentBytes))")
    }

    /// The largest record an episode can become (docs/EPISODIC.md, "Record").
    var episodeRecordBytesMax: Int {
        EpisodicFormat.recordHeaderBytes + namespaceBytesMax + episodeAgentBytesMax + 32 + episodeBodyBytesMax
    }
}
