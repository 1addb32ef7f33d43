import FoundationEssentials

/// The erasures a store has begun and not finished.
public struct PendingErasures: Sendable, Equatable {
    public let namespaces: [Namespace]
    public let leads: [PendingLeadErasure]
}

public struct PendingLeadErasure: Sendable, Equatable {
    public let namespace: Namespace
    public let lead: UUID
}

/// Knobs tests turn: stop after a number of commands (as a crash would), and swap fewer blocks at
/// once than a batch could hold (to exercise a segment rewritten in several rounds).
struct ErasureTuning {
    var commandCountMax: Int? = nil
    var blocksPerSwapMax: Int? = nil
}

extension EngramStore {
    /// Erases every trace of `namespace` from every tier (docs/LIFECYCLE.md, "Namespace erase"):
    /// from the first step on, the namespace reads as empty and refuses writes with `.busy`; when
    /// this returns, nothing of it is left in LMDB, the episodic segment files, the hot tier or the
    /// commit log, and the name may be used afresh. Blocks the calling thread for the whole erase
    /// (each step holds the writer for a bounded time); call it from a thread that may wait.
    ///
    /// If it throws (the store closed, a disk error), the erase stays begun: the namespace keeps
    /// reading as empty, and calling this again, `finishPendingErasures()`, or a consolidation pass
    /// carries on.
    public func eraseNamespace(_ namespace: Namespace) throws(EngramError) -> ErasureReport {
        try eraseNamespace(namespace, tuning: ErasureTuning())
    }

    /// Erases the lead `id` of `namespace` (a person's right to be forgotten; docs/LIFECYCLE.md,
    /// "Lead erase"): its record and index entries and its engagement summary at once, in one
    /// transaction; its episodes (every episode naming it, appended before this call) hidden from
    /// every read at once and purged from the segment files and the commit log before this
    /// returns. Throws `.busy` while the namespace itself is being erased. Blocks like
    /// `eraseNamespace`, and carries on the same way after a failure.
    public func eraseLead(namespace: Namespace, id: UUID) throws(EngramError) -> ErasureReport {
        try eraseLead(namespace: namespace, id: id, tuning: ErasureTuning())
    }

    /// Finishes every erasure that was begun and interrupted (a crash, a closed store, an error).
    public func finishPendingErasures() throws(EngramError) -> ErasureReport {
        try finishPendingErasures(tuning: ErasureTuning())
    }

    func finishPendingErasures(tuning: ErasureTuning) throws(EngramError) -> ErasureReport {
        let pending = try pendingErasures()
        guard !pending.namespaces.isEmpty || !pending.leads.isEmpty else { return ErasureReport() }
        return try erase(tuning: tuning) { (_: inout ErasureRun) throws(EngramError) in }
    }

    /// The erasures begun and not yet finished.
    public func pendingErasures() throws(EngramError) -> PendingErasures {
        let table = tables.lifecycle.markers
        let erasure = try read { (transaction) throws(EngramError) in try ErasureSet.read(table: table, in: transaction) }
        return PendingErasures(namespaces: try erasure.namespaceList(), leads: try erasure.leadList().map { PendingLeadErasure(namespace: $0.namespace, lead: $0.lead) })
    }

    // MARK: Tuned, for tests

    func eraseNamespace(_ namespace: Namespace, tuning: ErasureTuning) throws(EngramError) -> ErasureReport {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        return try erase(tuning: tuning) { (run: inout ErasureRun) throws(EngramError) in
            _ = try run.command(NamespaceEraseBegin(namespace: namespace))
        }
    }

    func eraseLead(namespace: Namespace, id: UUID, tuning: ErasureTuning) throws(EngramError) -> ErasureReport {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        return try erase(tuning: tuning) { (run: inout ErasureRun) throws(EngramError) in
            if try run.command(LeadEraseBegin(namespace: namespace, lead: id)) { run.report.deletedLeadRecordCount += 1 }
        }
    }

    /// Runs `begin`, a checkpoint (so the segment the begin sealed is sealed in the checkpointed
    /// state before any rewrite of it), every pending erasure's steps, and the final checkpoint
    /// that takes the erased bytes out of the commit log.
    private func erase(tuning: ErasureTuning, begin: (inout ErasureRun) throws(EngramError) -> Void) throws(EngramError) -> ErasureReport {
        try withLifecycleProcedure { () throws(EngramError) -> ErasureReport in
            let start = monotonicNanoseconds()
            var run = ErasureRun(store: self)
            run.tuning = tuning
            try begin(&run)
            if !run.mustStop { try run.checkpoint() }
            if !run.mustStop { try run.finishPending() } else { run.report.isComplete = false }
            if run.report.isComplete { try run.checkpoint() }
            run.report.elapsedMicroseconds = Int((monotonicNanoseconds() - start) / 1_000)
            configuration.eventHandler?(.erasureRan(run.report))
            return run.report
        }
    }

    /// Runs `body` as the store's one lifecycle procedure (a consolidation pass or an erase);
    /// another waits until it ends.
    func withLifecycleProcedure<Result>(_ body: () throws(EngramError) -> Result) throws(EngramError) -> Result {
        let outcome = writer.lifecycle.procedureLock.withLock { _ -> Swift.Result<Result, EngramError> in
            do throws(EngramError) {
                return .success(try body())
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
