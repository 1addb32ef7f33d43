@testable import EngramStorage
import FoundationEssentials
import Synchronization
import Testing

/// Consolidation (docs/LIFECYCLE.md): summaries equal a model folded from the same events, each
/// event is folded exactly once across passes and across crashes, every command and pass keeps
/// its bounds, expired items go, retention trims.
@Suite struct ConsolidationTests {
    @Test func summariesEqualTheModelAcrossPassesAndNamespaces() async throws {
        try await withStore(limits: lifecycleLimits()) { store, _ in
            var workload = EpisodeWorkload(seed: 41)
            for round in 0..<6 {
                try await workload.append(store, crm, count: 40 + round * 7)
                try await workload.append(store, billing, count: 25)
                let reports = try store.consolidateFully()
                #expect(reports.last!.moreWorkRemains == false)
                #expect(try EngagementModel.stored(store, crm) == workload.model(crm))
                #expect(try EngagementModel.stored(store, billing) == workload.model(billing))
                #expect(try store.consolidationPosition(namespace: crm) == store.episodicNextPosition)
            }
            // A pass with nothing new folds nothing and writes nothing.
            let idle = try store.consolidate()
            #expect(idle.foldedEventCount == 0)
            #expect(idle.commandCount == 0)
            #expect(idle.moreWorkRemains == false)
            for lead in workload.leads {
                #expect(try store.leadEngagement(namespace: crm, lead: lead) == workload.model(crm)[lead])
            }
        }
    }

    @Test func theKindTableDecidesWhatCountsAndUnknownKindsAreIgnored() async throws {
        try await withStore(limits: lifecycleLimits()) { store, _ in
            let lead = testID(7)
            let kinds: [UInt16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 500, 4, 8, 3]
            var receipts: [EpisodeReceipt] = []
            for kind in kinds {
                receipts += try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "a", kind: kind, lead: lead, body: [])]))
            }
            _ = try await store.write(EpisodeAppend(namespace: crm, episodes: [NewEpisode(agent: "a", kind: 3, lead: nil, body: [])]))
            let report = try store.consolidate()
            #expect(report.foldedEventCount == 9)
            #expect(report.updatedLeadCount == 1)
            let summary = try #require(try store.leadEngagement(namespace: crm, lead: lead))
            // Touches: 3, 4, 5, 6, 7, 4, 3; opens: the two 4s; clicks: 5; conversions: the two 8s.
            #expect(summary.touches == 7)
            #expect(summary.opens == 2)
            #expect(summary.clicks == 1)
            #expect(summary.conversions == 2)
            // The last touch is the final `email_sent`; the conversion after it moves nothing.
            #expect(summary.lastChannel == .email)
            #expect(summary.lastContactMicroseconds == receipts[13].timestampMicroseconds)
            #expect(summary.lastPosition == receipts[13].position)
            #expect(EngagementKind.of(6)?.channel == .web)
            #expect(EngagementKind.of(8) == EngagementKind(isTouch: false, isOpen: false, isClick: false, isConversion: true, channel: .none))
            for ignored: UInt16 in [0, 1, 2, 9, 10, 11, 65_535] { #expect(EngagementKind.of(ignored) == nil) }
        }
    }

    @Test func aFoldCommandStopsAtItsItemCount() async throws {
        try await withStore(limits: lifecycleLimits()) { store, _ in
            var workload = EpisodeWorkload(seed: 5)
            try await workload.append(store, crm, count: 120)
            let foldable = workload.written[crm]!.filter { $0.lead != nil && EngagementKind.of($0.kind) != nil }
            let events = foldable.map { FoldEvent(position: $0.position, timestampMicroseconds: $0.timestampMicroseconds, kind: $0.kind, lead: $0.lead!) }
            #expect(events.count > 40)
            let end = store.episodicNextPosition
            let outcome = try await store.write(LeadEngagementFold(namespace: crm, from: 1, to: end, events: events))
            #expect(outcome.foldedCount == 16)
            #expect(outcome.nextPosition == events[16].position)
            #expect(try store.consolidationPosition(namespace: crm) == events[16].position)
            #expect(try EngagementModel.stored(store, crm) == workload.model(crm, below: events[16].position))
            // A command whose page was read from another cursor is refused and changes nothing.
            let stale = await engramError { _ = try await store.write(LeadEngagementFold(namespace: crm, from: 1, to: end, events: events)) }
            #expect(stale?.code == .versionConflict)
            #expect(try store.consolidationPosition(namespace: crm) == events[16].position)
        }
    }

    @Test func aFoldCommandStopsAtHalfItsTimeBoundButFoldsAtLeastOneEvent() async throws {
        var limits = lifecycleLimits()
        limits.maintenanceCommandMicrosecondsMax = 1
        limits.maintenanceCommandItemCountMax = 1_000
        try await withStore(limits: limits) { store, _ in
            var workload = EpisodeWorkload(seed: 6)
            try await workload.append(store, crm, count: 60)
            let events = workload.written[crm]!.filter { $0.lead != nil && EngagementKind.of($0.kind) != nil }
                .map { FoldEvent(position: $0.position, timestampMicroseconds: $0.timestampMicroseconds, kind: $0.kind, lead: $0.lead!) }
            var cursor: UInt64 = 1
            var commands = 0
            while cursor < store.episodicNextPosition {
                let outcome = try await store.write(LeadEngagementFold(namespace: crm, from: cursor, to: store.episodicNextPosition, events: events.filter { $0.position >= cursor }))
                // Half of one microsecond is gone before the first event is folded: each command
                // folds exactly the one event it must.
                #expect(outcome.foldedCount == (events.contains { $0.position >= cursor } ? 1 : 0))
                cursor = outcome.nextPosition
                commands += 1
            }
            // The command that folds the last event moves the cursor to the page's end.
            #expect(commands == events.count)
            #expect(try EngagementModel.stored(store, crm) == workload.model(crm))
        }
    }

    @Test func aPassStopsAtItsDeadlineAndTheNextCarriesOn() async throws {
        var limits = lifecycleLimits()
        limits.consolidationPassMilliseconds = 1
        limits.maintenanceCommandMicrosecondsMax = 1_000
        limits.maintenanceCommandItemCountMax = 4
        try await withStore(limits: limits) { store, _ in
            var workload = EpisodeWorkload(seed: 8)
            try await workload.append(store, crm, count: 1_500)
            let first = try store.consolidate()
            #expect(first.moreWorkRemains)
            #expect(first.foldedEventCount < workload.model(crm).values.reduce(0) { $0 + Int($1.touches + $1.conversions) })
            // The deadline is checked between commands: a pass overruns it by at most one command
            // and one scan page (generously bounded here, for a loaded machine).
            #expect(first.elapsedMicroseconds < 1_000 + 250_000)
            let rest = try store.consolidateFully()
            #expect(rest.count > 1)
            #expect(rest.last!.moreWorkRemains == false)
            #expect(try EngagementModel.stored(store, crm) == workload.model(crm))
            let folded = ([first] + rest).reduce(0) { $0 + $1.foldedEventCount }
            #expect(folded == workload.written[crm]!.filter { $0.lead != nil && EngagementKind.of($0.kind) != nil }.count)
        }
    }

    @Test func eachEventIsFoldedExactlyOnceAcrossACrash() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var limits = lifecycleLimits()
        limits.consolidationPassMilliseconds = 2
        limits.maintenanceCommandMicrosecondsMax = 2_000
        limits.maintenanceCommandItemCountMax = 5
        let configuration = StoreConfiguration(directory: directory.path, limits: limits)
        var workload = EpisodeWorkload(seed: 9)
        let store = try EngramStore.open(configuration)
        try await workload.append(store, crm, count: 300)
        // Some passes, each ending at its deadline, then a crash with their folds only in the log.
        for _ in 0..<3 { _ = try store.consolidate() }
        let cursorBefore = try store.consolidationPosition(namespace: crm)
        #expect(cursorBefore > 1)
        #expect(try EngagementModel.stored(store, crm) == workload.model(crm, below: cursorBefore))
        store.simulateCrash()

        let reopened = try EngramStore.open(configuration)
        defer { reopened.close() }
        #expect(reopened.recovery.recordsReplayed > 0)
        // The cursor and the summaries were replayed together: exactly the events below the cursor.
        let cursor = try reopened.consolidationPosition(namespace: crm)
        #expect(cursor == cursorBefore)
        #expect(try EngagementModel.stored(reopened, crm) == workload.model(crm, below: cursor))
        try reopened.consolidateFully()
        #expect(try EngagementModel.stored(reopened, crm) == workload.model(crm))
    }

    @Test func aPowerCutKeepsTheCursorAndTheSummariesTogether() async throws {
        for seed: UInt64 in [1, 2, 3] {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let fileSystem = FaultInjectingFileSystem()
            var limits = lifecycleLimits()
            limits.consolidationPassMilliseconds = 2
            limits.maintenanceCommandMicrosecondsMax = 2_000
            limits.maintenanceCommandItemCountMax = 5
            let configuration = StoreConfiguration(directory: directory.path, limits: limits, fileSystem: fileSystem)
            var workload = EpisodeWorkload(seed: seed)
            let store = try EngramStore.open(configuration)
            try await workload.append(store, crm, count: 200)
            for _ in 0..<2 { _ = try store.consolidate() }
            let cursorBefore = try store.consolidationPosition(namespace: crm)
            store.simulateCrash()
            try fileSystem.powerLoss(seed: seed)

            let reopened = try EngramStore.open(configuration)
            // Folds are durable commands: a power cut takes none of them.
            let cursor = try reopened.consolidationPosition(namespace: crm)
            #expect(cursor == cursorBefore)
            #expect(try EngagementModel.stored(reopened, crm) == workload.model(crm, below: cursor))
            try reopened.consolidateFully()
            #expect(try EngagementModel.stored(reopened, crm) == workload.model(crm))
            reopened.close()
        }
    }

    @Test func expiredShortTermItemsGo() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let clock = HotTierManualClock()
        var limits = lifecycleLimits()
        limits.hotTierSweepChunkCountMax = 3
        let store = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: limits, hotTierClock: clock))
        defer { store.close() }
        for index in 0..<40 {
            try store.hotTier.put(namespace: crm, key: bytes("short-\(index)"), value: bytes("v"), ttlSeconds: 5)
        }
        for index in 0..<10 {
            try store.hotTier.put(namespace: crm, key: bytes("long-\(index)"), value: bytes("v"), ttlSeconds: 0)
        }
        let early = try store.consolidate()
        #expect(early.expiredItemCount == 0)
        clock.advance(seconds: 6)
        let report = try store.consolidate()
        #expect(report.expiredItemCount == 40)
        #expect(store.hotTier.statistics.itemCount == 10)
        #expect(store.hotTier.statistics.expirationCount == 40)
        #expect(try store.hotTier.get(namespace: crm, key: bytes("long-3")) == bytes("v"))
    }

    @Test func retentionTrimsOldSegments() async throws {
        var limits = lifecycleLimits()
        limits.episodicRetentionBytes = 16 << 10
        try await withStore(limits: limits) { store, directory in
            var workload = EpisodeWorkload(seed: 12)
            while try SegmentFiles.names(directory).count < 6 { try await workload.append(store, crm, count: 20) }
            let before = try SegmentFiles.names(directory)
            // Passes until one reports no work left: on a loaded machine one pass may meet its
            // deadline (1 s) in the fold, before retention.
            let trimmed = try store.consolidateFully().reduce(0) { $0 + $1.trimmedSegmentCount }
            #expect(trimmed >= 3)
            let after = try SegmentFiles.names(directory)
            #expect(after.count == before.count - trimmed)
            #expect(after == Array(before.suffix(after.count)))
            // The fold ran first: every event was folded before its segment went.
            #expect(try EngagementModel.stored(store, crm) == workload.model(crm))
            // By age: everything sealed goes.
            let aged = try store.consolidateFully(nowMicroseconds: workload.written[crm]!.last!.timestampMicroseconds + Int64(limits.episodicRetentionSeconds + 1) * 1_000_000)
            #expect(aged.reduce(0) { $0 + $1.trimmedSegmentCount } == after.count - 1)
            #expect(try SegmentFiles.names(directory).count == 1)
        }
    }

    @Test func theBackgroundThreadFoldsOnItsOwn() async throws {
        var limits = lifecycleLimits()
        limits.consolidationIntervalMilliseconds = 5
        try await withStore(limits: limits) { store, _ in
            var workload = EpisodeWorkload(seed: 13)
            try await workload.append(store, crm, count: 80)
            let end = store.episodicNextPosition
            try await waitUntil { (try? store.consolidationPosition(namespace: crm)) == end }
            #expect(try EngagementModel.stored(store, crm) == workload.model(crm))
        }
    }

    /// Every pass and every erase call ends with an event carrying its report: what engramd's
    /// metrics count. Background passes send theirs too.
    @Test func passesAndErasuresReportThroughEvents() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let events = Mutex<[StoreEvent]>([])
        let configuration = StoreConfiguration(directory: directory.path, limits: lifecycleLimits()) { event in
            events.withLock { $0.append(event) }
        }
        let store = try EngramStore.open(configuration)
        var workload = EpisodeWorkload(seed: 17)
        try await workload.append(store, crm, count: 30)
        events.withLock { $0.removeAll() }
        let pass = try store.consolidate()
        #expect(pass.foldedEventCount > 0)
        let erasure = try store.eraseLead(namespace: crm, id: workload.leads[0])
        #expect(events.withLock { $0 } == [.consolidationPassed(pass), .erasureRan(erasure)])
        store.close()

        var limits = lifecycleLimits()
        limits.consolidationIntervalMilliseconds = 5
        let background = Mutex<Int>(0)
        let scheduled = try EngramStore.open(StoreConfiguration(directory: directory.path, limits: limits) { event in
            if case .consolidationPassed = event { background.withLock { $0 += 1 } }
        })
        defer { scheduled.close() }
        try await waitUntil { background.withLock { $0 } >= 2 }
    }
}
