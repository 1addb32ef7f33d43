@testable import EngramStorage
import FoundationEssentials
import Testing

/// Lead erase (docs/LIFECYCLE.md, "Lead erase"): the lead, its index entries and email entry, its
/// engagement summary and its episodes go; every other episode stays, readable by every read,
/// with its index entries moved where the lead's episodes were an agent's first in a block.
@Suite struct LeadEraseTests {
    /// Leads with records, episodes for them, summaries folded.
    static func prepared(_ store: EngramStore, seed: UInt64, episodeCount: Int = 200) async throws -> EpisodeWorkload {
        var workload = EpisodeWorkload(seed: seed, leadCount: 6, leadHigh: 0xAB)
        try await populate(store, crm, &workload, episodeCount: episodeCount)
        return workload
    }

    /// What every read of `crm` must show once `victims` are erased.
    static func expectErased(_ store: EngramStore, _ directory: TemporaryDirectory, _ workload: EpisodeWorkload, victims: [UUID], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let victimSet = Set(victims)
        let remaining = workload.written[crm]!.filter { !($0.lead.map(victimSet.contains) ?? false) }
        #expect(try store.allEpisodes(crm) == remaining, sourceLocation: sourceLocation)
        for agent in workload.agents {
            let mine = remaining.filter { $0.agent == agent }
            #expect(try store.episodes(namespace: crm, agent: agent, limit: 10_000).episodes == mine, sourceLocation: sourceLocation)
            #expect(try store.episodes(namespace: crm, agent: agent, order: .newestFirst, limit: 10_000).episodes == mine.reversed(), sourceLocation: sourceLocation)
            // Reads that start inside the history find the same records as a filter of the whole.
            for start in stride(from: UInt64(1), to: UInt64(mine.count + 5), by: 7) {
                let page = try store.episodes(namespace: crm, agent: agent, range: .sequences(start...(start + 9)), limit: 100)
                #expect(page.episodes == mine.filter { (start...(start + 9)).contains($0.sequence) }, sourceLocation: sourceLocation)
            }
            if let middle = mine.dropFirst(mine.count / 2).first {
                let page = try store.episodes(namespace: crm, agent: agent, range: .time(middle.timestampMicroseconds...Int64.max), limit: 10_000)
                #expect(page.episodes == mine.filter { $0.timestampMicroseconds >= middle.timestampMicroseconds }, sourceLocation: sourceLocation)
            }
        }
        for (index, lead) in workload.leads.enumerated() where victimSet.contains(lead) {
            #expect(try store.leadGet(namespace: crm, id: lead) == nil, sourceLocation: sourceLocation)
            #expect(try store.leadGet(namespace: crm, email: "person\(index)@crm.example.com") == nil, sourceLocation: sourceLocation)
            #expect(try store.leadEngagement(namespace: crm, lead: lead) == nil, sourceLocation: sourceLocation)
            #expect(try Leftovers.inLMDB(store, lead.bytes) == [], sourceLocation: sourceLocation)
            #expect(try Leftovers.inLMDB(store, Array("person\(index)@crm".utf8)) == [], sourceLocation: sourceLocation)
            #expect(try Leftovers.inSegments(store, directory, lead.bytes) == [], sourceLocation: sourceLocation)
            #expect(try Leftovers.inCommitLog(directory, lead.bytes) == [], sourceLocation: sourceLocation)
        }
        let leads = try store.leadQuery(namespace: crm, LeadQuery(order: .newest, limit: 1_000)).leads
        #expect(Set(leads.map(\.id)) == Set(workload.leads).subtracting(victimSet), sourceLocation: sourceLocation)
        var model = workload.model(crm, excluding: victimSet)
        #expect(try EngagementModel.stored(store, crm) == model, sourceLocation: sourceLocation)
        try store.consolidateFully()
        model = workload.model(crm, excluding: victimSet)
        #expect(try EngagementModel.stored(store, crm) == model, sourceLocation: sourceLocation)
        #expect(try store.checkRecordsConsistency().problems == [], sourceLocation: sourceLocation)
        #expect(try store.verifyEpisodes() == [], sourceLocation: sourceLocation)
        #expect(try episodicIndexProblems(store) == [], sourceLocation: sourceLocation)
        #expect(try store.pendingErasures().leads == [], sourceLocation: sourceLocation)
    }

    @Test func aLeadEraseRemovesTheLeadItsIndexesSummaryAndEpisodes() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            let workload = try await Self.prepared(store, seed: 51)
            let victim = workload.leads[2]
            let victimEpisodes = workload.written[crm]!.filter { $0.lead == victim }.count
            #expect(victimEpisodes > 20)
            #expect(try store.leadEngagement(namespace: crm, lead: victim) != nil)
            #expect(try episodicIndexProblems(store) == [])
            let report = try store.eraseLead(namespace: crm, id: victim)
            #expect(report.isComplete)
            #expect(report.finishedLeadCount == 1)
            #expect(report.deletedLeadRecordCount == 1)
            #expect(report.deletedKeyCount == 0)
            #expect(report.droppedEpisodeCount == victimEpisodes)
            #expect(report.rewrittenSegmentCount > 1)
            #expect(report.rekeyedIndexEntryCount > 0)
            try Self.expectErased(store, directory, workload, victims: [victim])
            #expect(try Leftovers.commitLogNames(directory) == [])
            #expect(try Leftovers.sparesAreZeros(directory))
            // Retention still finds every index entry of the segments it removes.
            let aged = try store.consolidate(nowMicroseconds: workload.written[crm]!.last!.timestampMicroseconds + Int64(store.limits.episodicRetentionSeconds + 1) * 1_000_000)
            #expect(aged.trimmedSegmentCount > 0)
            #expect(try episodicIndexProblems(store) == [])
            for agent in workload.agents { _ = try store.episodes(namespace: crm, agent: agent, limit: 10_000) }
        }
    }

    @Test func theLeadsEpisodesAreHiddenFromTheBeginOn() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            var workload = try await Self.prepared(store, seed: 52)
            let victim = workload.leads[0]
            let begun = try store.eraseLead(namespace: crm, id: victim, tuning: ErasureTuning(commandCountMax: 1))
            #expect(begun.isComplete == false)
            #expect(try store.pendingErasures().leads == [PendingLeadErasure(namespace: crm, lead: victim)])
            #expect(try store.leadGet(namespace: crm, id: victim) == nil)
            #expect(try store.leadEngagement(namespace: crm, lead: victim) == nil)
            let remaining = workload.written[crm]!.filter { $0.lead != victim }
            #expect(try store.allEpisodes(crm) == remaining)
            for agent in workload.agents {
                #expect(try store.episodes(namespace: crm, agent: agent, limit: 10_000).episodes == remaining.filter { $0.agent == agent })
            }
            // Episodes appended later that name the same id are new data, neither hidden nor purged.
            try await workload.append(store, crm, count: 5, lead: victim)
            let later = Array(workload.written[crm]!.suffix(5))
            #expect(try store.allEpisodes(crm) == remaining + later)
            // A pass folds none of the hidden episodes, and finishes the erase.
            let pass = try store.consolidate()
            #expect(pass.erasure?.isComplete == true)
            #expect(pass.erasure?.finishedLeadCount == 1)
            var model = EngagementModel()
            for episode in later { model.fold(episode) }
            #expect(try store.leadEngagement(namespace: crm, lead: victim) == model.summaries[victim])
            #expect(try store.allEpisodes(crm) == remaining + later)
            #expect(try Leftovers.inSegments(store, directory, victim.bytes).count <= 1) // only the open segment's new episodes
            #expect(try episodicIndexProblems(store) == [])
        }
    }

    @Test(arguments: [1, 2, 3, 4, 6])
    func aLeadEraseCutShortByACrashFinishesAfterReopen(commandCountMax: Int) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StoreConfiguration(directory: directory.path, limits: lifecycleLimits())
        let store = try EngramStore.open(configuration)
        let workload = try await Self.prepared(store, seed: 53)
        let victim = workload.leads[4]
        let cut = try store.eraseLead(namespace: crm, id: victim, tuning: ErasureTuning(commandCountMax: commandCountMax))
        #expect(cut.isComplete == false)
        store.simulateCrash()

        let reopened = try EngramStore.open(configuration)
        defer { reopened.close() }
        #expect(try reopened.pendingErasures().leads == [PendingLeadErasure(namespace: crm, lead: victim)])
        #expect(try reopened.allEpisodes(crm) == workload.written[crm]!.filter { $0.lead != victim })
        // Called again, the erase carries on; the record went with the first call's begin.
        let finished = try reopened.eraseLead(namespace: crm, id: victim)
        #expect(finished.isComplete)
        #expect(finished.finishedLeadCount == 1)
        #expect(finished.deletedLeadRecordCount == 0)
        try Self.expectErased(reopened, directory, workload, victims: [victim])
    }

    @Test func aLeadEraseCutShortByAPowerCutFinishesAfterReopen() async throws {
        for (seed, cut) in [(UInt64(0), 1), (4, 3), (5, 5)] {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let fileSystem = FaultInjectingFileSystem()
            let configuration = StoreConfiguration(directory: directory.path, limits: lifecycleLimits(), fileSystem: fileSystem)
            let store = try EngramStore.open(configuration)
            let workload = try await Self.prepared(store, seed: 54 + seed, episodeCount: 150)
            let victim = workload.leads[1]
            _ = try store.eraseLead(namespace: crm, id: victim, tuning: ErasureTuning(commandCountMax: cut))
            store.simulateCrash()
            try fileSystem.powerLoss(seed: seed, keepNone: seed == 0)

            let reopened = try EngramStore.open(configuration)
            #expect(reopened.recovery.episodicDamage == [])
            #expect(try reopened.pendingErasures().leads.map(\.lead) == [victim])
            #expect(try reopened.finishPendingErasures().isComplete)
            try Self.expectErased(reopened, directory, workload, victims: [victim])
            reopened.close()
        }
    }

    @Test func severalLeadErasuresShareOnePurge() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            let workload = try await Self.prepared(store, seed: 55)
            let victims = Array(workload.leads.prefix(3))
            for victim in victims {
                _ = try store.eraseLead(namespace: crm, id: victim, tuning: ErasureTuning(commandCountMax: 1))
            }
            let segments = try SegmentFiles.names(directory).count
            let report = try store.finishPendingErasures()
            #expect(report.finishedLeadCount == 3)
            // One rewrite per segment at most, not one per lead and segment.
            #expect(report.rewrittenSegmentCount <= segments)
            #expect(report.droppedEpisodeCount == workload.written[crm]!.filter { $0.lead.map(victims.contains) ?? false }.count)
            try Self.expectErased(store, directory, workload, victims: victims)
        }
    }

    @Test func aSegmentWithMoreChangedBlocksThanOneSwapTakesSeveralRounds() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            let workload = try await Self.prepared(store, seed: 56)
            let victim = workload.leads[5]
            _ = try store.eraseLead(namespace: crm, id: victim, tuning: ErasureTuning(commandCountMax: 1))
            let report = try store.eraseLead(namespace: crm, id: victim, tuning: ErasureTuning(blocksPerSwapMax: 1))
            #expect(report.isComplete)
            // Every changed block needs a round of its own.
            let segmentCount = try SegmentFiles.names(directory).count
            #expect(report.rewrittenSegmentCount > segmentCount)
            try Self.expectErased(store, directory, workload, victims: [victim])
            // Generations moved on once per round; the files named are the only ones left.
            #expect(try SegmentFiles.names(directory).contains { !$0.hasSuffix("-0.seg") })
        }
    }

    @Test func aLeadWithoutRecordOrEpisodesErasesCleanly() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            let workload = try await Self.prepared(store, seed: 57)
            let stranger = testID(999, high: 0xAB)
            let report = try store.eraseLead(namespace: crm, id: stranger)
            #expect(report.isComplete)
            #expect(report.droppedEpisodeCount == 0)
            #expect(report.rewrittenSegmentCount == 0)
            #expect(report.finishedLeadCount == 1)
            #expect(report.deletedLeadRecordCount == 0)
            try Self.expectErased(store, directory, workload, victims: [])
        }
    }

    @Test func aDamagedBlockInARewrittenSegmentIsDroppedWithItsIndexEntries() async throws {
        try await withStore(limits: lifecycleLimits()) { store, directory in
            var workload = try await Self.prepared(store, seed: 58)
            try await workload.append(store, crm, count: 60)
            // Damage one sealed block of the oldest segment (flip a stored byte).
            let name = try SegmentFiles.names(directory)[0]
            let path = SegmentFiles.path(directory, name)
            var file = try SegmentFiles.read(path)
            let block = SegmentFiles.blocks(file)[1]
            file[block.offset + 40] ^= 0xFF
            try SegmentFiles.write(path, file)
            #expect(try store.verifyEpisodes().count == 1)
            let report = try store.eraseLead(namespace: crm, id: workload.leads[0])
            #expect(report.droppedDamagedBlockCount == 1)
            #expect(try store.verifyEpisodes() == [])
            #expect(try episodicIndexProblems(store) == [])
            for agent in workload.agents { _ = try store.episodes(namespace: crm, agent: agent, limit: 10_000) }
        }
    }
}
