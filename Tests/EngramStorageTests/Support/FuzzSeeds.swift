@testable import EngramStorage
import FoundationEssentials

/// The seed corpus of every fuzz target in `Fuzz/`, made by the engine's own encoders: real log
/// records, checkpoints, facts, blocks and segments, a handful per target and a few KiB each.
/// `FuzzSeedTests` checks them and, with `ENGRAM_WRITE_FUZZ_SEEDS=1` (what `tools/fuzz
/// --write-seeds` sets), writes them to `Fuzz/Corpus/<target>/<name>`.
///
/// Each input starts with the control byte its target reads (docs/TESTING.md); `accepted` is what
/// the entry point must answer for it. The seeds from a real store carry its wall-clock batch
/// times, so they differ from one generation to the next; the tests compare answers, not bytes.
struct FuzzSeed {
    let target: String
    let name: String
    let bytes: [UInt8]
    let accepted: Bool
}

enum FuzzSeeds {
    static func all() async throws -> [FuzzSeed] {
        try await commitLog() + redo() + checkpoint() + semanticFact() + episodicBlock() + episodicTail() + records() + hotTier()
    }

    static let events: [NewEpisode] = {
        var generator = MarketingEventGenerator(seed: 7, leadCount: 50, campaignCount: 4, agentCount: 3)
        return (0..<6).map { _ in generator.next().episode }
    }()

    static let fact = SemanticFact(id: CrashValues.factID(task: 1, slot: 2), tags: ["pricing", "q3"], body: bytes("prefers annual plans"), vector: [0.25, -0.5, 1, 0])

    // MARK: Commit log

    /// A real store's log: three durable batches (long-term, semantic, episodic), read back from
    /// its active segment, which a clean close leaves in place.
    static func commitLog() async throws -> [FuzzSeed] {
        let segment = try await closedStore { store in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("lead:42"), value: bytes("{\"score\":87}")))
            _ = try await store.write(SemanticPut(namespace: crm, fact: fact))
            _ = try await store.write(EpisodeAppend(namespace: crm, episodes: Array(events.prefix(3))))
            _ = try await store.write(LongTermDelete(namespace: crm, key: bytes("lead:42")))
        } file: { directory in directory.appending("log/" + CommitLogFormat.segmentName(firstLSN: 1)) }
        let records = trimmedZeros(segment, keeping: CommitLogFormat.headerBytes)
        let firstRecordBytes = CommitLogFormat.headerBytes + Int(FuzzChecksums.u32(records, at: 4))
        // Two segments: the log rolls after every record of 3,000 incompressible bytes.
        let rolled = try writeLog(payloads: (0..<3).map { seed in noise(seed: UInt64(seed), count: 1_500) }, segmentBytes: 2_048)
        let twoSegments = rolled[0] + CommitLogFuzzTarget.marker + [2] + rolled[1]
        // A batch the writer compresses (256 KiB of repeated text), then a rollback voiding it.
        let compressed = try writeLog(payloads: [Array(repeating: bytes("clicked pricing "), count: 16_384).flatMap { $0 }], rollback: true)[0]
        return [
            FuzzSeed(target: "commit-log", name: "store-log", bytes: [0] + records, accepted: true),
            FuzzSeed(target: "commit-log", name: "store-log-checkpointed-at-2", bytes: [2 << 1 | 1] + records, accepted: true),
            FuzzSeed(target: "commit-log", name: "torn-tail", bytes: [0] + records.prefix(firstRecordBytes + 40), accepted: true),
            FuzzSeed(target: "commit-log", name: "two-segments", bytes: [0] + twoSegments, accepted: true),
            FuzzSeed(target: "commit-log", name: "compressed-then-rollback", bytes: [0] + compressed, accepted: true),
        ]
    }

    /// Writes each payload as a synced batch record with the real appender; returns the
    /// segments in LSN order, trailing zeros trimmed.
    static func writeLog(payloads: [[UInt8]], segmentBytes: Int = 64 << 10, rollback: Bool = false) throws -> [[UInt8]] {
        let fileSystem = MemoryFileSystem()
        let log = try CommitLog.recover(directory: "/log", fileSystem: fileSystem, segmentBytes: segmentBytes, recordBytesMax: 1 << 20, appliedLSN: 0) { _ in }.log
        for payload in payloads {
            var buffer = ByteWriter()
            buffer.reserve(CommitLogFormat.headerBytes)
            buffer.write(contentsOf: payload)
            try log.append(kind: .batch, buffer: &buffer)
            try log.sync()
        }
        if rollback {
            var buffer = ByteWriter()
            buffer.reserve(CommitLogFormat.headerBytes)
            buffer.write(log.lastLSN)
            try log.append(kind: .rollback, buffer: &buffer)
            try log.sync()
        }
        log.close()
        return try fileSystem.contentsOfDirectory("/log").sorted().map { trimmedZeros(fileSystem.contents(of: "/log/" + $0)!, keeping: 0) }
    }

    // MARK: Redo operations

    static func redo() -> [FuzzSeed] {
        var records = ByteWriter()
        for (index, event) in events.prefix(3).enumerated() {
            EpisodeRecord.encode(position: UInt64(index + 1), sequence: 1, timestampMicroseconds: 1_717_000_000_000_000 + Int64(index), kind: event.kind, namespace: crm.bytes, agent: Array(event.agent.utf8), lead: event.lead, campaign: event.campaign, body: event.body, into: &records)
        }
        var stored = ByteWriter()
        SemanticFactLayout.encode(fact, version: 7, into: &stored)
        let indexKey = crm.bytes.withUnsafeBytes { namespace in
            bytes("triage-0").withUnsafeBytes { EpisodicKey.agentPrefix(EpisodicKey.sequenceIndex, namespace: namespace, agent: $0).bytes + [0, 0, 0, 0, 0, 0, 0, 1] }
        }
        let operations: [(String, [any RedoOperation])] = [
            ("long-term", [LongTermPutOperation(namespace: crm, key: bytes("lead:42"), version: 3, value: bytes("{\"score\":87}")), LongTermDeleteOperation(namespace: crm, key: bytes("lead:41"))]),
            ("semantic", [SemanticPutOperation(namespace: crm, id: fact.id, stored: stored.bytes), SemanticDeleteOperation(namespace: billing, id: fact.id)]),
            ("episode-append", [EpisodeAppendOperation(recordCount: 3, records: records.bytes)]),
            ("records", recordOperations()),
            ("episodic-maintenance", [EpisodicRetentionOperation(segment: 1, generation: 0, indexKeys: [indexKey], isFinal: true), EpisodicSwapOperation(segment: 2, generation: 0, endOffset: 4_160, blocks: [.init(address: 9, offset: 64, storedBytes: 4_064, codec: 2)])]),
            ("lifecycle", lifecycleOperations(indexKey: indexKey)),
        ]
        return operations.map { name, operations in
            FuzzSeed(target: "redo", name: name, bytes: batchPayload(operations), accepted: true)
        }
    }

    /// One operation of each record opcode (docs/RECORDS.md), with records made by their layouts.
    static func recordOperations() -> [any RedoOperation] {
        let lead = CrashValues.factID(task: 7, slot: 1)
        let campaign = CrashValues.factID(task: 7, slot: 2)
        let leadRecord = LeadLayout.encode(id: lead, score: 87, version: 4, createdAt: 1_717_000_000_000_000, updatedAt: 1_717_000_001_000_000, texts: ["ana@example.com", "Ana", "Acme", "webinar", "enterprise", "qualified"], metadata: bytes("{\"utm\":\"q3\"}"))
        let campaignRecord = CampaignLayout.encode(id: campaign, status: .active, version: 5, createdAt: 1_717_000_000_000_000, updatedAt: 1_717_000_000_000_000, budgetCents: 1_500_000, name: "q3-webinar", type: "email")
        let event = CampaignMetricEvent(campaignID: campaign, timeMicroseconds: 1_717_000_002_000_000, sequence: 6, sent: 1_000, opened: 420, clicked: 61, converted: 7)
        return [
            LeadPutOperation(namespace: crm, record: leadRecord), LeadDeleteOperation(namespace: crm, id: lead),
            CampaignPutOperation(namespace: crm, record: campaignRecord), CampaignDeleteOperation(namespace: crm, id: campaign),
            CampaignMetricAppendOperation(namespace: crm, event: event),
            CampaignMetricsDeleteOperation(namespace: crm, campaignID: campaign, beforeMicroseconds: 1_717_000_003_000_000, count: 1),
        ]
    }

    /// One operation of each lifecycle opcode (docs/LIFECYCLE.md, "Redo operations").
    static func lifecycleOperations(indexKey: [UInt8]) -> [any RedoOperation] {
        let lead = CrashValues.factID(task: 7, slot: 1)
        let marker = ErasureMarker(beforePosition: 812, startedAtMicroseconds: 1_717_000_004_000_000)
        let summary = LeadEngagement(touches: 5, opens: 2, clicks: 1, conversions: 1, lastContactMicroseconds: 1_717_000_003_500_000, lastChannel: .email, lastPosition: 811)
        let block = EpisodicSegmentFilterOperation.Block(address: 9, offset: 64, storedBytes: 3_990, rawBytes: 8_100, codec: 1, recordCount: 41, lastPosition: 800, minTimestamp: 1_717_000_000_000_000, maxTimestamp: 1_717_000_002_000_000)
        return [
            EpisodicSealOperation(segment: 3),
            EpisodicIndexRekeyOperation(deletes: [indexKey], puts: [(key: indexKey + [2], block: 9)]),
            EpisodicSegmentFilterOperation(segment: 2, generation: 1, endOffset: 4_160, minTimestamp: 1_717_000_000_000_000, maxTimestamp: 1_717_000_002_000_000, blocks: [block]),
            LeadEngagementFoldOperation(namespace: crm, from: 1, to: 812, entries: [LeadEngagementEntry(lead: lead, engagement: summary)]),
            NamespaceEraseBeginOperation(namespace: billing, marker: marker),
            NamespaceEraseRangeOperation(namespace: billing, range: .leadEmails, count: 64),
            NamespaceEraseFinishOperation(namespace: billing),
            LeadEraseBeginOperation(namespace: crm, lead: lead, marker: marker),
            LeadEraseFinishOperation(namespace: crm, lead: lead),
        ]
    }

    static func batchPayload(_ operations: [any RedoOperation]) -> [UInt8] {
        var writer = ByteWriter()
        writer.reserve(CommitLogFormat.headerBytes)
        BatchPayload.writeHeader(timeMicroseconds: 1_717_000_000_000_000, into: &writer)
        func append(_ operation: some RedoOperation) { BatchPayload.append(operation, to: &writer) }
        for operation in operations { append(operation) }
        BatchPayload.patchOperationCount(UInt32(operations.count), in: &writer)
        return Array(writer.bytes.dropFirst(CommitLogFormat.headerBytes))
    }

    // MARK: Checkpoint

    /// A real store's checkpoint, and the same meta pages cut to LMDB's smallest page (the
    /// decoder checks only the fields it reads), so the fuzzer also has a short valid file.
    static func checkpoint() async throws -> [FuzzSeed] {
        let file = try await closedStore { store in
            _ = try await store.write(LongTermPut(namespace: crm, key: bytes("lead:42"), value: bytes("{\"score\":87}")))
        } file: { directory in directory.appending(Checkpoint.fileName) }
        let real = try Checkpoint.decode(file, file: Checkpoint.fileName)
        let small = Checkpoint(lsn: real.lsn, lmdbTransaction: real.lmdbTransaction, pageBytes: 512, metaPages: Array(real.metaPages[0..<512] + real.metaPages[real.pageBytes..<(real.pageBytes + 512)]))
        return [
            FuzzSeed(target: "checkpoint", name: "store", bytes: [0] + file, accepted: true),
            FuzzSeed(target: "checkpoint", name: "small-pages", bytes: [0] + small.encoded(), accepted: true),
            FuzzSeed(target: "checkpoint", name: "small-pages-checksum-fixed", bytes: [1] + small.encoded(), accepted: true),
        ]
    }

    // MARK: Semantic facts

    static func semanticFact() -> [FuzzSeed] {
        let facts = [
            ("tags-vector-body", fact),
            ("bare", SemanticFact(id: fact.id, body: [])),
            ("many-tags", SemanticFact(id: fact.id, tags: (0..<8).map { "tag-\($0)" }, body: bytes("x"), vector: [1])),
        ]
        return facts.map { name, fact in
            var writer = ByteWriter()
            SemanticFactLayout.encode(fact, version: 42, into: &writer)
            return FuzzSeed(target: "semantic-fact", name: name, bytes: writer.bytes, accepted: true)
        }
    }

    // MARK: Episodic blocks and segments

    /// The raw records of `count` marketing events from position `first`.
    static func episodeRecords(first: UInt64, count: Int) -> [UInt8] {
        var writer = ByteWriter()
        for index in 0..<count {
            let event = events[index % events.count]
            EpisodeRecord.encode(position: first + UInt64(index), sequence: UInt64(index + 1), timestampMicroseconds: 1_717_000_000_000_000 + Int64(index) * 1_000, kind: event.kind, namespace: crm.bytes, agent: bytes("triage-0"), lead: index == 1 ? nil : event.lead, campaign: event.campaign, body: event.body, into: &writer)
        }
        return writer.bytes
    }

    static func block(first: UInt64, count: Int, compression: EpisodicBlock.Compression) -> [UInt8] {
        var scratch: [UInt8] = []
        return episodeRecords(first: first, count: count).withUnsafeBytes { raw in
            EpisodicBlock.encode(raw: raw, recordCount: count, firstPosition: first, lastPosition: first + UInt64(count) - 1, compression: compression, scratch: &scratch)
        }
    }

    static func episodicBlock() -> [FuzzSeed] {
        let records = episodeRecords(first: 1, count: 2)
        // One record body of noise cannot be compressed: the block is stored as it is.
        var stored = ByteWriter()
        EpisodeRecord.encode(position: 5, sequence: 2, timestampMicroseconds: 9, kind: 3, namespace: crm.bytes, agent: bytes("engagement-1"), lead: nil, campaign: nil, body: noise(seed: 5, count: 200), into: &stored)
        var scratch: [UInt8] = []
        let storedBlock = stored.bytes.withUnsafeBytes { EpisodicBlock.encode(raw: $0, recordCount: 1, firstPosition: 5, lastPosition: 5, compression: .lz4, scratch: &scratch) }
        return [
            FuzzSeed(target: "episodic-block", name: "lz4", bytes: [0] + block(first: 1, count: 4, compression: .lz4), accepted: true),
            FuzzSeed(target: "episodic-block", name: "zstd", bytes: [0] + block(first: 10, count: 4, compression: .zstd(level: 3)), accepted: true),
            FuzzSeed(target: "episodic-block", name: "stored-checksums-fixed", bytes: [6] + storedBlock, accepted: true),
            FuzzSeed(target: "episodic-block", name: "open-block-records", bytes: [1] + records, accepted: true),
            FuzzSeed(target: "episodic-block", name: "open-block-records-checksums-fixed", bytes: [3] + records, accepted: true),
        ]
    }

    /// A segment as the appender leaves it: header, blocks back to back, then zeros.
    static func episodicTail() -> [FuzzSeed] {
        let header = EpisodicSegmentHeader(number: 1, generation: 0, firstPosition: 1).encoded()
        let first = block(first: 1, count: 3, compression: .lz4)
        let second = block(first: 4, count: 2, compression: .lz4)
        let segment = header + first + second + [UInt8](repeating: 0, count: 64)
        return [
            FuzzSeed(target: "episodic-tail", name: "segment", bytes: [0] + segment, accepted: true),
            FuzzSeed(target: "episodic-tail", name: "segment-from-checkpointed-end", bytes: [2] + segment, accepted: true),
            FuzzSeed(target: "episodic-tail", name: "torn-last-block", bytes: [1] + Array(segment.prefix(header.count + first.count + second.count / 2)), accepted: false),
        ]
    }

    // MARK: Records

    /// Records as the store keeps them, each behind the kind byte the target reads.
    static func records() -> [FuzzSeed] {
        let leadID = CrashValues.factID(task: 7, slot: 1)
        let campaignID = CrashValues.factID(task: 7, slot: 2)
        let lead = Lead(id: leadID, email: "ana@example.com", name: "Ana Ruiz", company: "Acme", source: "webinar", category: "enterprise", score: 87, status: "qualified", metadata: bytes("{\"utm\":{\"source\":\"newsletter\",\"terms\":[\"pricing\",2024,true,null,-1.5e3]}}"), createdAtMicroseconds: 1_717_000_000_000_000, updatedAtMicroseconds: 1_717_000_001_000_000, version: 4)
        let bare = Lead(id: leadID, email: "b@example.org", score: 0, status: "new", createdAtMicroseconds: 0, updatedAtMicroseconds: 0, version: 1)
        let campaign = Campaign(id: campaignID, name: "Q3 webinar", type: "email", status: .active, budgetCents: 1_500_000, createdAtMicroseconds: 1_717_000_000_000_000, updatedAtMicroseconds: 1_717_000_000_000_000, version: 5)
        let event = CampaignMetricEvent(campaignID: campaignID, timeMicroseconds: 1_717_000_002_000_000, sequence: 6, sent: 1_000, opened: 420, clicked: 61, converted: 7)
        return [
            FuzzSeed(target: "records", name: "lead", bytes: [0] + lead.record, accepted: true),
            FuzzSeed(target: "records", name: "lead-bare", bytes: [0] + bare.record, accepted: true),
            FuzzSeed(target: "records", name: "campaign", bytes: [1] + campaign.record, accepted: true),
            FuzzSeed(target: "records", name: "metric-event", bytes: [2] + event.record, accepted: true),
        ]
    }

    // MARK: Hot tier

    /// Operation scripts in the target's format, from a seeded generator: each configuration,
    /// mostly puts and gets over a few keys, with clock moves, sweeps and cache fills. Each
    /// operation gets exactly the argument bytes the target reads for it.
    static func hotTier() -> [FuzzSeed] {
        (0..<3).map { configuration in
            var generator = SplitMix64(seed: UInt64(configuration) + 1)
            func random() -> UInt8 { UInt8(truncatingIfNeeded: generator.next()) }
            var script: [UInt8] = [UInt8(configuration)]
            // Opcodes (docs/TESTING.md) weighted toward puts and gets; 0x87 is a cache fill with
            // an invalidation between its lookup and its fill.
            let weighted: [UInt8] = [0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 5, 6, 7, 7, 0x87, 8, 9]
            for _ in 0..<120 {
                let opcode = weighted[Int(generator.next() % UInt64(weighted.count))]
                // The key: namespace in the top bit, one of eight keys, so operations meet.
                script += [opcode, random() & 0x87]
                switch opcode % 10 {
                case 0: script += [random(), random()]
                case 2:
                    let count = random() % 5
                    script.append(count)
                    for _ in 0...count { script.append(random() & 0x07) }
                case 4, 5, 6: script.append(random())
                case 7: script += [random() & 0x87, random()]
                case 8: script.append(random() & 0x87)
                default: break
                }
            }
            return FuzzSeed(target: "hot-tier", name: "configuration-\(configuration)", bytes: script, accepted: true)
        }
    }

    /// Opens a store with small files, runs `body`, closes it (which checkpoints), and returns
    /// the bytes of the file `path` names in its directory.
    static func closedStore(_ body: (EngramStore) async throws -> Void, file path: (TemporaryDirectory) -> String) async throws -> [UInt8] {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: tinyLimits()))
        do {
            try await body(store)
        } catch {
            store.close()
            throw error
        }
        store.close()
        return try SegmentFiles.read(path(directory))
    }

    // MARK: Helpers

    static func noise(seed: UInt64, count: Int) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// `bytes` without its trailing zeros (a preallocated file's unwritten rest), keeping `kept`.
    static func trimmedZeros(_ bytes: [UInt8], keeping kept: Int) -> [UInt8] {
        let end = (bytes.lastIndex(where: { $0 != 0 }).map { $0 + 1 } ?? 0)
        return Array(bytes.prefix(min(bytes.count, end + kept)))
    }
}
