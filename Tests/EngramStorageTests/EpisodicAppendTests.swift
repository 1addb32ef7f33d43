@testable import EngramStorage
import FoundationEssentials
import Testing

/// Limits that make blocks and segments roll after a few episodes.
func episodicLimits() -> Limits {
    var limits = smallLimits()
    limits.episodicBlockBytes = 1 << 10
    limits.episodeBodyBytesMax = 512
    limits.episodicSegmentBytes = 8 << 10
    limits.episodicRetentionBytes = 8 << 10
    return limits
}

/// Bytes that do not compress, so blocks and segments fill at a known pace.
func noise(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
}

func episode(_ agent: String, kind: UInt16 = 1, _ text: String, lead: UUID? = nil, campaign: UUID? = nil) -> NewEpisode {
    NewEpisode(agent: agent, kind: kind, lead: lead, campaign: campaign, body: bytes(text))
}

@Suite struct EpisodicAppendTests {
    @Test func appendNumbersEpisodesPerAgentAndAcrossTheStore() async throws {
        try await withStore(limits: episodicLimits()) { store, _ in
            let lead = UUID()
            let first = try await store.write(EpisodeAppend(namespace: crm, episodes: [
                episode("triage-1", kind: 7, "scored 80", lead: lead),
                episode("mailer-1", kind: 9, "sent welcome"),
                episode("triage-1", kind: 7, "scored 85", lead: lead),
            ]))
            #expect(first.map(\.sequence) == [1, 1, 2])
            #expect(first.map(\.position) == [1, 2, 3])
            #expect(first[0].timestampMicroseconds <= first[2].timestampMicroseconds)
            let second = try await store.write(EpisodeAppend(namespace: billing, episodes: [episode("triage-1", "other namespace")]))
            #expect(second.map(\.sequence) == [1])
            #expect(second.map(\.position) == [4])

            let page = try store.episodes(namespace: crm, agent: "triage-1", limit: 10)
            #expect(page.next == nil)
            #expect(page.episodes == [
                Episode(agent: "triage-1", sequence: 1, timestampMicroseconds: first[0].timestampMicroseconds, position: 1, kind: 7, lead: lead, campaign: nil, body: bytes("scored 80")),
                Episode(agent: "triage-1", sequence: 2, timestampMicroseconds: first[2].timestampMicroseconds, position: 3, kind: 7, lead: lead, campaign: nil, body: bytes("scored 85")),
            ])
            #expect(try store.episodes(namespace: billing, agent: "triage-1", limit: 10).episodes.map(\.body) == [bytes("other namespace")])
            #expect(try store.episodes(namespace: crm, agent: "nobody", limit: 10).episodes.isEmpty)
        }
    }

    @Test func episodesSurviveReopenAcrossBlocksAndSegments() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StoreConfiguration(directory: directory.path, limits: episodicLimits())
        var receipts: [EpisodeReceipt] = []
        do {
            let store = try EngramStore.open(configuration)
            for round in 0..<40 {
                receipts += try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "a", kind: 1, body: noise(round * 12, seed: UInt64(round)))]))
            }
            store.close()
        }
        let store = try EngramStore.open(configuration)
        defer { store.close() }
        let page = try store.episodes(namespace: crm, agent: "a", limit: 100)
        #expect(page.episodes.map(\.sequence) == Array(1...40))
        #expect(page.episodes.map(\.timestampMicroseconds) == receipts.map(\.timestampMicroseconds))
        #expect(page.episodes.map(\.body) == (0..<40).map { noise($0 * 12, seed: UInt64($0)) })
        let names = try PosixFileSystem().contentsOfDirectory(directory.appending("episodic")).sorted()
        #expect(names.count > 1)
    }
}

@Suite struct EpisodicAppendFailureTests {
    @Test func limitsAreCheckedBeforeQueueing() async throws {
        try await withStore(limits: episodicLimits()) { store, _ in
            let cases: [(EpisodeAppend, EngramError.Code, String)] = [
                (EpisodeAppend(namespace: crm, episodes: []), .invalidArgument, "at least one episode"),
                (EpisodeAppend(namespace: crm, episodes: [episode("", "x")]), .invalidArgument, "must not be empty"),
                (EpisodeAppend(namespace: crm, episodes: [episode("bad agent", "x")]), .invalidArgument, "byte 0x20 at index 3"),
                (EpisodeAppend(namespace: crm, episodes: [episode(String(repeating: "a", count: 65), "x")]), .keyTooLarge, "65 bytes exceeds episodeAgentBytesMax 64"),
                (EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "a", kind: 1, body: noise(513, seed: 1))]), .valueTooLarge, "513 bytes exceeds episodeBodyBytesMax 512"),
                (EpisodeAppend(namespace: crm, episodes: Array(repeating: episode("a", "x"), count: 4_097)), .valueTooLarge, "4097 episodes"),
            ]
            for (command, code, message) in cases {
                let error = await engramError { _ = try await store.write(command) }
                #expect(error?.code == code)
                #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
            }
            #expect(store.episodicNextPosition == 1, "nothing was applied")
        }
    }

    @Test func aFailedRollFailsTheBatchAndLeavesNothingBehind() async throws {
        let fileSystem = FaultInjectingFileSystem()
        try await withStore(limits: tinyLimits(), fileSystem: fileSystem) { store, directory in
            fileSystem.failWrites(errno: 28)
            let error = await engramError { _ = try await store.write(EpisodeAppend(namespace: crm, episodes: [episode("a", "first")])) }
            #expect(error?.code == .noSpace)
            fileSystem.heal()
            #expect(try SegmentFiles.names(directory) == [])
            #expect(try store.episodes(namespace: crm, agent: "a", limit: 10).episodes.isEmpty)
            let receipts = try await store.write(EpisodeAppend(namespace: crm, episodes: [episode("a", "second")]))
            #expect(receipts.map(\.sequence) == [1])
            #expect(receipts.map(\.position) == [1])
            #expect(try store.episodes(namespace: crm, agent: "a", limit: 10).episodes.map(\.body) == [bytes("second")])
        }
    }

    @Test func anAbortedBatchWritesNoSegmentBytes() async throws {
        let fileSystem = FaultInjectingFileSystem()
        try await withStore(limits: tinyLimits(), fileSystem: fileSystem) { store, directory in
            var written = 0
            while try SegmentFiles.names(directory).count < 2 {
                _ = try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "a", kind: 1, body: noise(400, seed: UInt64(written)))]))
                written += 1
            }
            let names = try SegmentFiles.names(directory)
            let files = try names.map { try SegmentFiles.read(SegmentFiles.path(directory, $0)) }
            // The commit-log append fails after the episodic apply has sealed a block: LMDB aborts.
            fileSystem.failWrites(errno: 5, count: 1)
            let big = (0..<4).map { NewEpisode(agent: "a", kind: 1, body: noise(400, seed: UInt64(1_000 + $0))) }
            let error = await engramError { _ = try await store.write(EpisodeAppend(namespace: crm, episodes: big)) }
            #expect(error?.code == .io)
            #expect(try SegmentFiles.names(directory) == names)
            #expect(try names.map { try SegmentFiles.read(SegmentFiles.path(directory, $0)) } == files, "no byte of the aborted batch reached a segment")
            #expect(try store.episodes(namespace: crm, agent: "a", limit: 1_000).episodes.count == written)
            let receipts = try await store.write(EpisodeAppend(namespace: crm, episodes: big))
            #expect(receipts.map(\.sequence) == (1...4).map { UInt64(written + $0) })
        }
    }
}

@Suite struct EpisodicLimitsTests {
    @Test func defaultsAreValidAndBrokenRelationsAreNamed() throws {
        try Limits.default.validate()
        var limits = Limits()
        limits.episodicBlockBytes = 1 << 10
        let tooSmallBlock = #expect(throws: EngramError.self) { try limits.validate() }
        #expect(tooSmallBlock?.code == .limitsInvalid)
        #expect(tooSmallBlock?.message.contains("the largest episode record (32965 bytes) must fit one block (episodicBlockBytes 1024)") == true)
        limits = Limits()
        limits.episodicSegmentBytes = 100 << 10
        let tooSmallSegment = #expect(throws: EngramError.self) { try limits.validate() }
        #expect(tooSmallSegment?.message.contains("must hold the segment header and two of the largest blocks") == true)
        limits = Limits()
        limits.episodeAgentBytesMax = 300
        let longAgents = #expect(throws: EngramError.self) { try limits.validate() }
        #expect(longAgents?.message.contains("episodeAgentBytesMax 300 must fit its one-byte length prefix") == true)
    }
}
