#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// What one consolidation pass did (docs/LIFECYCLE.md, "Consolidation").
public struct ConsolidationReport: Sendable, Equatable {
    /// Expired short-term items removed from the hot tier.
    public var expiredItemCount = 0
    /// Episodes folded into lead engagement summaries, and summaries written.
    public var foldedEventCount = 0
    public var updatedLeadCount = 0
    /// Episodic segments removed by retention.
    public var trimmedSegmentCount = 0
    /// What the pass did to finish interrupted erasures (nil when none was pending).
    public var erasure: ErasureReport? = nil
    /// Writer commands the pass submitted, and the longest time one held the writer (of those
    /// that time themselves: the folds and the erase's key-range steps).
    public var commandCount = 0
    public var longestCommandMicroseconds = 0
    public var elapsedMicroseconds = 0
    /// Whether the pass stopped with work left (its deadline, a stop request, or a busy episodic
    /// maintenance pass): the next pass carries on.
    public var moreWorkRemains = false

    public init() {}
}

extension EngramStore {
    /// Runs one consolidation pass now and reports what it did: expire short-term items, finish
    /// interrupted erasures, fold new episodes into lead engagement summaries, and trim the
    /// episodic log past retention (`nowMicroseconds` is retention's "now"; nil for the clock).
    /// Bounded by `Limits.consolidationPassMilliseconds`; each of its writer commands by
    /// `maintenanceCommandMicrosecondsMax` and `maintenanceCommandItemCountMax`. Blocks the calling
    /// thread; waits for an erase or another pass to end first.
    public func consolidate(nowMicroseconds: Int64? = nil) throws(EngramError) -> ConsolidationReport {
        try consolidate(nowMicroseconds: nowMicroseconds, shouldStop: nil)
    }

    func consolidate(nowMicroseconds: Int64?, shouldStop: (() -> Bool)?) throws(EngramError) -> ConsolidationReport {
        try withLifecycleProcedure { () throws(EngramError) -> ConsolidationReport in
            var pass = ConsolidationPass(store: self, shouldStop: shouldStop)
            pass.expire()
            try pass.finishErasures()
            try pass.fold()
            try pass.trim(nowMicroseconds: nowMicroseconds)
            pass.report.elapsedMicroseconds = Int((monotonicNanoseconds() - pass.start) / 1_000)
            configuration.eventHandler?(.consolidationPassed(pass.report))
            return pass.report
        }
    }

    /// The fold cursor of `namespace`: every episode below this position has been folded (1 when
    /// none has).
    public func consolidationPosition(namespace: Namespace) throws(EngramError) -> UInt64 {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        let table = tables.lifecycle.markers
        return try read { (transaction) throws(EngramError) -> UInt64 in
            if try namespaceIsErasing(namespace, in: transaction) { return 1 }
            return try FoldCursorLayout.read(namespace, table: table, in: transaction)
        }
    }
}

/// One pass's state: its deadline, its counters, and each step.
struct ConsolidationPass {
    let store: EngramStore
    let start = monotonicNanoseconds()
    let deadline: UInt64
    let shouldStop: (() -> Bool)?
    var report = ConsolidationReport()

    init(store: EngramStore, shouldStop: (() -> Bool)?) {
        self.store = store
        self.shouldStop = shouldStop
        self.deadline = start + UInt64(store.limits.consolidationPassMilliseconds) * 1_000_000
    }

    /// Whether the pass must end now; it then reports more work.
    mutating func mustStop() -> Bool {
        if monotonicNanoseconds() >= deadline || shouldStop?() == true {
            report.moreWorkRemains = true
            return true
        }
        return false
    }

    /// Step 1: sweep the hot tier for expired items until a whole sweep completes.
    mutating func expire() {
        let chunkCountMax = store.limits.hotTierSweepChunkCountMax
        while !mustStop() {
            let sweep = store.hotTier.removeExpired(limit: chunkCountMax)
            report.expiredItemCount += sweep.removedCount
            if sweep.passCompleted { return }
        }
    }

    /// Step 2: carry on with erasures a crash or an error interrupted.
    mutating func finishErasures() throws(EngramError) {
        let pending = try store.pendingErasures()
        guard !pending.namespaces.isEmpty || !pending.leads.isEmpty, !mustStop() else { return }
        var run = ErasureRun(store: store)
        run.deadlineNanoseconds = deadline
        run.shouldStop = shouldStop
        try run.checkpoint()
        try run.finishPending()
        if run.report.isComplete { try run.checkpoint() } else { report.moreWorkRemains = true }
        report.erasure = run.report
        report.commandCount += run.report.commandCount
        report.longestCommandMicroseconds = max(report.longestCommandMicroseconds, run.report.longestCommandMicroseconds)
    }

    /// Step 3: fold each namespace's new episodes into its leads' summaries.
    mutating func fold() throws(EngramError) {
        let erasing = Set(try store.pendingErasures().namespaces)
        for (namespace, newest) in try store.namespacesWithEpisodes() where !erasing.contains(namespace) {
            var cursor = try store.consolidationPosition(namespace: namespace)
            while cursor <= newest {
                if mustStop() { return }
                let page = try store.scanEpisodes(namespace: namespace, from: cursor, limit: store.limits.maintenanceCommandItemCountMax) { record in
                    record.flags & EpisodicFormat.flagLead != 0 && EngagementKind.of(record.kind) != nil
                }
                guard page.nextPosition > cursor else { break }
                let events = page.episodes.map { FoldEvent(position: $0.position, timestampMicroseconds: $0.timestampMicroseconds, kind: $0.kind, lead: $0.lead!) }
                let outcome: FoldOutcome
                do throws(EngramError) {
                    report.commandCount += 1
                    outcome = try store.writeAndWait(LeadEngagementFold(namespace: namespace, from: cursor, to: page.nextPosition, events: events))
                } catch {
                    // The namespace began to be erased, or its cursor moved: leave it to the next pass.
                    guard error.code == .versionConflict else { throw error }
                    report.moreWorkRemains = true
                    break
                }
                report.foldedEventCount += outcome.foldedCount
                report.updatedLeadCount += outcome.leadCount
                report.longestCommandMicroseconds = max(report.longestCommandMicroseconds, outcome.elapsedMicroseconds)
                cursor = outcome.nextPosition
            }
        }
    }

    /// Step 4: remove episodic segments past retention, one at a time.
    mutating func trim(nowMicroseconds: Int64?) throws(EngramError) {
        let log = store.writer.episodicLog
        guard !mustStop() else { return }
        guard !log.maintenanceRunning.exchange(true, ordering: .acquiringAndReleasing) else {
            report.moreWorkRemains = true
            return
        }
        defer { log.maintenanceRunning.store(false, ordering: .releasing) }
        while !mustStop() {
            guard let candidate = try store.retentionCandidates(nowMicroseconds: nowMicroseconds, segmentCountMax: 1).first else { return }
            for step in try store.retentionSteps(candidate) {
                report.commandCount += 1
                try store.writeAndWait(step)
            }
            report.trimmedSegmentCount += 1
        }
    }
}

extension EngramStore {
    /// Every namespace that has episodes, with the position of its newest one, from the agents'
    /// rows (docs/EPISODIC.md, key `04`), sorted by name.
    func namespacesWithEpisodes() throws(EngramError) -> [(namespace: Namespace, newestPosition: UInt64)] {
        let table = tables.episodic
        let found = try read { (transaction) throws(EngramError) -> [[UInt8]: UInt64] in
            try transaction.withCursor(table) { (cursor) throws(EngramError) -> [[UInt8]: UInt64] in
                var newest: [[UInt8]: UInt64] = [:]
                var entry = try [EpisodicKey.agent].withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
                while let current = entry, current.key[0] == EpisodicKey.agent {
                    guard current.key.count >= 2, current.key.count >= 2 + Int(current.key[1]) else {
                        throw EngramError(.corrupt, "an episodic agent key of \(current.key.count) bytes")
                    }
                    let name = Array(current.key[2..<(2 + Int(current.key[1]))])
                    let row = try EpisodicAgentRow.decode(current.value)
                    newest[name] = max(newest[name] ?? 0, row.lastPosition)
                    entry = try cursor.next()
                }
                return newest
            }
        }
        var namespaces: [(namespace: Namespace, newestPosition: UInt64)] = []
        for (name, position) in found.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            namespaces.append((try Namespace(bytes: name), position))
        }
        return namespaces
    }
}
