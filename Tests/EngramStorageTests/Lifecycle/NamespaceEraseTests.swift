@testable import EngramStorage
import FoundationEssentials
import Testing

/// Namespace erase (docs/LIFECYCLE.md, "Namespace erase"): nothing of the namespace is left in
/// any LMDB table, segment file, hot-tier item or commit-log segment; the other namespace is
/// untouched; mid-erase the namespace reads as empty and refuses writes; an erase cut short by a
/// crash or a power cut finishes after reopen.
@Suite struct NamespaceEraseTests {
    static let needle = Array(doomed.name.utf8)

    /// Asserts that nothing of `doomed` is left anywhere and that `kept` reads as `before`.
    static func expectGone(_ store: EngramStore, _ directory: TemporaryDirectory, kept before: TierSnapshot, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try Leftovers.inLMDB(store, needle) == [], sourceLocation: sourceLocation)
        #expect(try Leftovers.inSegments(store, directory, needle) == [], sourceLocation: sourceLocation)
        #expect(try Leftovers.inCommitLog(directory, needle) == [], sourceLocation: sourceLocation)
        #expect(try TierSnapshot(store, doomed).isEmpty, sourceLocation: sourceLocation)
        #expect(try TierSnapshot(store, kept) == before, sourceLocation: sourceLocation)
        #expect(try store.checkRecordsConsistency().problems == [], sourceLocation: sourceLocation)
        #expect(try store.verifyEpisodes() == [], sourceLocation: sourceLocation)
        #expect(try episodicIndexProblems(store) == [], sourceLocation: sourceLocation)
        #expect(try store.pendingErasures() == PendingErasures(namespaces: [], leads: []), sourceLocation: sourceLocation)
    }

    @Test func anEraseLeavesNothingOfTheNamespaceInAnyTier() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            var doomedWork = EpisodeWorkload(seed: 21, leadHigh: 0xD0)
            var keptWork = EpisodeWorkload(seed: 22, leadHigh: 0xC0)
            try await populate(store, doomed, &doomedWork)
            try await populate(store, kept, &keptWork)
            let before = try TierSnapshot(store, kept)
            #expect(before.leads.count == 12 && before.episodes.count == 120 && before.longTerm.count == 12)
            #expect(try TierSnapshot(store, doomed).isEmpty == false)
            #expect(store.hotTier.statistics.itemCount == 16)
            #expect(store.hotTier.statistics.longTermCache.itemCount == 24)
            #expect(try Leftovers.inLMDB(store, Self.needle).isEmpty == false)
            #expect(try Leftovers.inSegments(store, directory, Self.needle).isEmpty == false)

            let report = try store.eraseNamespace(doomed)
            #expect(report.isComplete)
            #expect(report.finishedNamespaceCount == 1)
            #expect(report.droppedEpisodeCount == 120)
            #expect(report.rewrittenSegmentCount > 0)
            #expect(report.droppedDamagedBlockCount == 0)
            // 12 long-term, 6 facts, 12 leads with 3 index entries each, 3 campaigns with a status
            // entry, 12 metric events, 3 summaries and 12 hourly buckets, 12 engagement summaries
            // (one per lead with a counted event), 3 agents, their index entries, the fold cursor.
            #expect(report.deletedKeyCount > 12 + 6 + 48 + 6 + 12 + 3 + 12 + 3 + 1)
            #expect(report.longestCommandMicroseconds > 0)
            try Self.expectGone(store, directory, kept: before)
            #expect(try Leftovers.commitLogNames(directory) == [])
            #expect(try Leftovers.sparesAreZeros(directory))
            #expect(store.hotTier.statistics.itemCount == 8)
            #expect(store.hotTier.statistics.longTermCache.itemCount == 12)

            // The name is free again, and starts from nothing.
            _ = try await store.write(LongTermPut(namespace: doomed, key: bytes("fresh"), value: bytes("start")))
            let receipt = try await store.write(EpisodeAppend(namespace: doomed, episodes: [NewEpisode(agent: "triage-1", kind: 3, lead: doomedWork.leads[0], body: [])]))
            #expect(receipt[0].sequence == 1)
            try store.hotTier.put(namespace: doomed, key: bytes("session/0"), value: bytes("new"))
            #expect(try store.longTermScan(namespace: doomed, limit: 10).entries.map(\.key) == [bytes("fresh")])
            try store.consolidateFully()
            #expect(try store.leadEngagement(namespace: doomed, lead: doomedWork.leads[0])?.touches == 1)
        }
    }

    @Test func whileAnEraseRunsTheNamespaceReadsAsEmptyAndRefusesWrites() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            var doomedWork = EpisodeWorkload(seed: 23, leadHigh: 0xD0)
            var keptWork = EpisodeWorkload(seed: 24, leadHigh: 0xC0)
            try await populate(store, doomed, &doomedWork)
            try await populate(store, kept, &keptWork)
            let before = try TierSnapshot(store, kept)

            let begun = try store.eraseNamespace(doomed, tuning: ErasureTuning(commandCountMax: 1))
            #expect(begun.isComplete == false)
            #expect(try store.pendingErasures().namespaces == [doomed])
            #expect(try TierSnapshot(store, doomed).isEmpty)
            #expect(try store.leadGet(namespace: doomed, id: doomedWork.leads[0]) == nil)
            #expect(try store.leadGet(namespace: doomed, email: "person0@\(doomed.name).example.com") == nil)
            #expect(try store.semanticGet(namespace: doomed, id: testID(0, high: 0x5E)) == nil)
            #expect(try store.longTermGet(namespace: doomed, key: bytes("profile/0")) == nil)
            #expect(try store.campaignGet(namespace: doomed, id: testID(0, high: 0xCA)) == nil)
            #expect(try store.campaignPerformance(namespace: doomed, id: testID(0, high: 0xCA)) == nil)
            #expect(try store.campaignHourlySeries(namespace: doomed, campaignID: testID(0, high: 0xCA), fromMicroseconds: 0, limit: 10).buckets == [])
            #expect(try store.campaignMetricEvents(namespace: doomed, campaignID: testID(0, high: 0xCA), limit: 10).events == [])
            #expect(try store.campaignQuery(namespace: doomed, limit: 10).campaigns == [])
            #expect(try store.episodes(namespace: doomed, agent: "triage-1", limit: 100).episodes == [])
            #expect(try store.leadEngagement(namespace: doomed, lead: doomedWork.leads[0]) == nil)
            #expect(try store.hotTier.get(namespace: doomed, key: bytes("session/0")) == nil)
            #expect(try store.hotTier.touch(namespace: doomed, key: bytes("session/1")) == false)
            let scan = try store.scanEpisodes(namespace: doomed, from: 1, limit: 100)
            #expect(scan.episodes == [])
            #expect(scan.isAtEnd)
            #expect(scan.nextPosition == store.episodicNextPosition)

            // Every kind of write is refused with busy, and changes nothing.
            let lead0 = doomedWork.leads[0]
            let writes: [@Sendable () async throws -> Void] = [
                { _ = try await store.write(LongTermPut(namespace: doomed, key: bytes("k"), value: bytes("v"))) },
                { _ = try await store.write(LongTermDelete(namespace: doomed, key: bytes("profile/1"))) },
                { _ = try await store.write(SemanticPut(namespace: doomed, fact: SemanticFact(id: testID(99), body: []))) },
                { _ = try await store.write(SemanticDelete(namespace: doomed, id: testID(0, high: 0x5E))) },
                { _ = try await store.write(EpisodeAppend(namespace: doomed, episodes: [NewEpisode(agent: "a", kind: 3, body: [])])) },
                { _ = try await store.write(LeadUpsert(namespace: doomed, id: testID(99), email: "x@y.z", score: 1, status: "new")) },
                { _ = try await store.write(LeadDelete(namespace: doomed, id: lead0)) },
                { _ = try await store.write(CampaignUpsert(namespace: doomed, id: testID(99), name: "n", type: "t", status: .draft, budgetCents: 1)) },
                { _ = try await store.write(CampaignDelete(namespace: doomed, id: testID(0, high: 0xCA))) },
                { _ = try await store.write(CampaignMetricAppend(namespace: doomed, event: CampaignMetricEvent(campaignID: testID(0, high: 0xCA), timeMicroseconds: 1, sent: 1, opened: 0, clicked: 0, converted: 0))) },
                { _ = try await store.write(CampaignMetricsDelete(namespace: doomed, campaignID: testID(0, high: 0xCA), countMax: 1)) },
                { try store.hotTier.put(namespace: doomed, key: bytes("k"), value: bytes("v")) },
                { _ = try store.eraseLead(namespace: doomed, id: lead0) },
            ]
            for write in writes {
                let error = await engramError { try await write() }
                #expect(error?.code == .busy)
                #expect(error?.message == "namespace \(doomed.name) is being erased; it takes writes again when the erase finishes")
            }
            // The other namespace is untouched and writable; a pass leaves the erasing one alone.
            #expect(try TierSnapshot(store, kept) == before)
            _ = try await store.write(LongTermPut(namespace: kept, key: bytes("during"), value: bytes("erase")))
            _ = try await store.write(LongTermDelete(namespace: kept, key: bytes("during")))

            let report = try store.finishPendingErasures()
            #expect(report.isComplete)
            #expect(report.finishedNamespaceCount == 1)
            try Self.expectGone(store, directory, kept: before)
            _ = try await store.write(LongTermPut(namespace: doomed, key: bytes("k"), value: bytes("v")))
            try store.hotTier.put(namespace: doomed, key: bytes("k"), value: bytes("v"))
        }
    }

    @Test(arguments: [1, 2, 3, 5, 9, 17, 24])
    func anEraseCutShortByACrashFinishesAfterReopen(commandCountMax: Int) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let limits = lifecycleLimits()
        let configuration = StoreConfiguration(directory: directory.path, limits: limits)
        let store = try EngramStore.open(configuration)
        var doomedWork = EpisodeWorkload(seed: 25, leadHigh: 0xD0)
        var keptWork = EpisodeWorkload(seed: 26, leadHigh: 0xC0)
        try await populate(store, doomed, &doomedWork, episodeCount: 80)
        try await populate(store, kept, &keptWork, episodeCount: 80)
        store.hotTier.removeNamespace(kept) // volatile: gone after the crash anyway
        let before = try TierSnapshot(store, kept)
        let cut = try store.eraseNamespace(doomed, tuning: ErasureTuning(commandCountMax: commandCountMax))
        #expect(cut.isComplete == false)
        store.simulateCrash()

        let reopened = try EngramStore.open(configuration)
        defer { reopened.close() }
        #expect(try reopened.pendingErasures().namespaces == [doomed])
        #expect(try TierSnapshot(reopened, doomed).isEmpty)
        #expect(try TierSnapshot(reopened, kept) == before)
        let refused = await engramError { _ = try await reopened.write(LongTermPut(namespace: doomed, key: bytes("k"), value: bytes("v"))) }
        #expect(refused?.code == .busy)
        #expect(throws: EngramError.self) { try reopened.hotTier.put(namespace: doomed, key: bytes("k"), value: bytes("v")) }
        if commandCountMax % 2 == 1 {
            let report = try reopened.finishPendingErasures()
            #expect(report.isComplete)
        } else {
            let reports = try reopened.consolidateFully()
            #expect(reports.compactMap(\.erasure).last?.isComplete == true)
        }
        try Self.expectGone(reopened, directory, kept: before)
    }

    @Test func anEraseThatReturnedSurvivesACrashAndAPowerCut() async throws {
        for powerCut in [false, true] {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let fileSystem = FaultInjectingFileSystem()
            let configuration = StoreConfiguration(directory: directory.path, limits: lifecycleLimits(), fileSystem: fileSystem)
            let store = try EngramStore.open(configuration)
            var doomedWork = EpisodeWorkload(seed: 29, leadHigh: 0xD0)
            var keptWork = EpisodeWorkload(seed: 30, leadHigh: 0xC0)
            try await populate(store, doomed, &doomedWork, episodeCount: 80)
            try await populate(store, kept, &keptWork, episodeCount: 80)
            store.hotTier.removeNamespace(kept)
            let before = try TierSnapshot(store, kept)
            let report = try store.eraseNamespace(doomed)
            #expect(report.isComplete)
            // 80 episodes in one rewritten segment's worth of blocks, and every range emptied in
            // commands of at most 16 keys: the erase took more than 20 commands, which is why the
            // crash tests above cut it at 24 at most.
            #expect(report.commandCount > 24)
            store.simulateCrash()
            if powerCut { try fileSystem.powerLoss(seed: 3) }

            let reopened = try EngramStore.open(configuration)
            #expect(reopened.recovery.recordsReplayed == 0)
            try Self.expectGone(reopened, directory, kept: before)
            reopened.close()
        }
    }

    @Test(arguments: [2, 6, 20])
    func anEraseCutShortByAPowerCutFinishesAfterReopen(commandCountMax: Int) async throws {
        for seed: UInt64 in [0, 7] {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let fileSystem = FaultInjectingFileSystem()
            let configuration = StoreConfiguration(directory: directory.path, limits: lifecycleLimits(), fileSystem: fileSystem)
            let store = try EngramStore.open(configuration)
            var doomedWork = EpisodeWorkload(seed: 27 + seed, leadHigh: 0xD0)
            var keptWork = EpisodeWorkload(seed: 28 + seed, leadHigh: 0xC0)
            try await populate(store, doomed, &doomedWork, episodeCount: 60)
            try await populate(store, kept, &keptWork, episodeCount: 60)
            store.hotTier.removeNamespace(kept)
            let before = try TierSnapshot(store, kept)
            _ = try store.eraseNamespace(doomed, tuning: ErasureTuning(commandCountMax: commandCountMax))
            store.simulateCrash()
            try fileSystem.powerLoss(seed: seed, keepNone: seed == 0)

            let reopened = try EngramStore.open(configuration)
            #expect(reopened.recovery.episodicDamage == [])
            #expect(try reopened.pendingErasures().namespaces == [doomed])
            #expect(try TierSnapshot(reopened, doomed).isEmpty)
            #expect(try reopened.finishPendingErasures().isComplete)
            try Self.expectGone(reopened, directory, kept: before)
            reopened.close()
        }
    }

    @Test func aCompactingCopyLeavesTheErasedBytesOutOfLMDBsFreePages() async throws {
        let directory = TemporaryDirectory()
        let target = TemporaryDirectory()
        defer {
            directory.remove()
            target.remove()
        }
        let configuration = StoreConfiguration(directory: directory.path, limits: lifecycleLimits())
        let store = try EngramStore.open(configuration)
        var doomedWork = EpisodeWorkload(seed: 31, leadHigh: 0xD0)
        var keptWork = EpisodeWorkload(seed: 32, leadHigh: 0xC0)
        try await populate(store, doomed, &doomedWork, episodeCount: 60)
        try await populate(store, kept, &keptWork, episodeCount: 60)
        store.hotTier.removeNamespace(kept)
        let before = try TierSnapshot(store, kept)
        #expect(try store.eraseNamespace(doomed).isComplete)
        store.close()
        // Deleted keys and values stay in data.mdb's free pages: the reason for the copy.
        #expect(Leftovers.contains(try SegmentFiles.read(directory.appending("lmdb/data.mdb")), Self.needle))

        try EngramStore.compactCopy(configuration, to: target.path)
        #expect(Leftovers.contains(try SegmentFiles.read(target.appending("lmdb/data.mdb")), Self.needle) == false)
        let copy = try EngramStore.open(StoreConfiguration(directory: target.path, limits: lifecycleLimits()))
        defer { copy.close() }
        #expect(copy.recovery.createdNew == false)
        #expect(copy.recovery.episodicDamage == [])
        try Self.expectGone(copy, target, kept: before)
        // The copy goes on taking writes where the source stopped.
        _ = try await copy.write(LongTermPut(namespace: kept, key: bytes("after"), value: bytes("compaction")))
        #expect(try copy.longTermGet(namespace: kept, key: bytes("after"))?.bytes == bytes("compaction"))
        // A store that is open elsewhere is refused, and so is a target that holds files.
        let third = TemporaryDirectory()
        defer { third.remove() }
        let open = await engramError { try EngramStore.compactCopy(StoreConfiguration(directory: target.path, limits: lifecycleLimits()), to: third.path) }
        #expect(open?.code == .busy)
        #expect(try PosixFileSystem().contentsOfDirectory(third.path).isEmpty)
        let occupied = await engramError { try EngramStore.compactCopy(configuration, to: target.path) }
        #expect(occupied?.code == .invalidArgument)
    }
}
