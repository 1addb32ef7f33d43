#if canImport(Glibc)
import Glibc
#endif

/// What an erase (or the erase steps of a consolidation pass) did.
public struct ErasureReport: Sendable, Equatable {
    /// LMDB keys deleted by the key-range steps.
    public var deletedKeyCount = 0
    /// Lead records a lead erase deleted (with their three index entries): 1 when the lead had a
    /// record, 0 when it had none (its episodes, if any, are erased all the same) or when an
    /// earlier, interrupted call had deleted it.
    public var deletedLeadRecordCount = 0
    /// Segment rewrites swapped in.
    public var rewrittenSegmentCount = 0
    /// Episode records dropped from segment files.
    public var droppedEpisodeCount = 0
    /// Damaged blocks dropped from rewritten segments (their bytes could not be filtered).
    public var droppedDamagedBlockCount = 0
    /// Index entries deleted or put again by rekeys.
    public var rekeyedIndexEntryCount = 0
    /// Namespace and lead erasures finished (their markers removed).
    public var finishedNamespaceCount = 0
    public var finishedLeadCount = 0
    /// Writer commands submitted, and the longest time one held the writer (of those that time
    /// themselves: the key-range steps).
    public var commandCount = 0
    public var longestCommandMicroseconds = 0
    public var elapsedMicroseconds = 0
    /// Whether every pending erasure finished; false when a deadline or a stop request ended the
    /// run first (the markers stay, and a later run carries on).
    public var isComplete = true

    public init() {}
}

/// One run of erase steps on the calling thread, under the lifecycle procedure lock: finishes
/// every pending erasure (docs/LIFECYCLE.md, "Erase"), or stops early at a deadline, a stop
/// request or (for crash tests) a number of commands.
struct ErasureRun {
    let store: EngramStore
    var deadlineNanoseconds: UInt64? = nil
    var shouldStop: (() -> Bool)? = nil
    var tuning = ErasureTuning()
    var report = ErasureReport()

    init(store: EngramStore) {
        self.store = store
    }

    /// Whether the run must stop before its next command.
    var mustStop: Bool {
        if let commandCountMax = tuning.commandCountMax, report.commandCount >= commandCountMax { return true }
        if let deadlineNanoseconds, monotonicNanoseconds() >= deadlineNanoseconds { return true }
        return shouldStop?() ?? false
    }

    mutating func command<Command: WriteCommand>(_ command: Command) throws(EngramError) -> Command.Outcome {
        report.commandCount += 1
        return try store.writeAndWait(command)
    }

    /// A checkpoint with the commit log retired first; throws if it did not cover the batches
    /// applied before it, so an erase never returns with its bytes left in the log.
    mutating func checkpoint() throws(EngramError) {
        let target = store.statistics.lastAppliedLSN
        try command(CheckpointCommand())
        let reached = store.statistics.lastCheckpointLSN
        guard reached >= target else {
            throw EngramError(.io, "the checkpoint an erase needs did not complete (it covers LSN \(reached), the erase needs \(target)); the erased bytes stay in the commit log until a checkpoint succeeds")
        }
    }

    /// Finishes every pending erasure: the episodic purge, then each namespace's key ranges and
    /// marker, then each lead's marker. Returns early (report incomplete) when it must stop.
    mutating func finishPending() throws(EngramError) {
        let table = store.tables.lifecycle.markers
        let erasure = try store.read { (transaction) throws(EngramError) in try ErasureSet.read(table: table, in: transaction) }
        guard !erasure.isEmpty else { return }
        guard try purgeEpisodes(erasure) else { return incomplete() }
        for namespace in try erasure.namespaceList() {
            for range in EraseRange.allCases {
                while true {
                    if mustStop { return incomplete() }
                    let outcome = try command(NamespaceEraseRangeStep(namespace: namespace, range: range))
                    report.deletedKeyCount += outcome.deletedCount
                    report.longestCommandMicroseconds = max(report.longestCommandMicroseconds, outcome.elapsedMicroseconds)
                    if outcome.isEmpty { break }
                }
            }
            if mustStop { return incomplete() }
            try command(NamespaceEraseFinish(namespace: namespace))
            report.finishedNamespaceCount += 1
        }
        for (namespace, lead) in try erasure.leadList() where erasure.namespaces[namespace.bytes] == nil {
            if mustStop { return incomplete() }
            try command(LeadEraseFinish(namespace: namespace, lead: lead))
            report.finishedLeadCount += 1
        }
    }

    private mutating func incomplete() {
        report.isComplete = false
    }

    /// Rewrites every sealed segment holding a record `erasure` drops. Returns false when it had
    /// to stop first. Holds the episodic log's maintenance flag, so retention and recompression
    /// do not move the segments it reads.
    private mutating func purgeEpisodes(_ erasure: ErasureSet) throws(EngramError) -> Bool {
        let log = store.writer.episodicLog
        let waitDeadline = monotonicNanoseconds() + UInt64(store.limits.maintenanceWaitMilliseconds) * 1_000_000
        while log.maintenanceRunning.exchange(true, ordering: .acquiringAndReleasing) {
            guard monotonicNanoseconds() < waitDeadline else {
                throw EngramError(.busy, "an episodic maintenance pass ran for all of maintenanceWaitMilliseconds (\(store.limits.maintenanceWaitMilliseconds)); the erase's markers stay and a later call carries on")
            }
            usleep(1_000)
        }
        defer { log.maintenanceRunning.store(false, ordering: .releasing) }
        for segment in try candidateSegments(erasure) {
            var attempts = 0
            while true {
                if mustStop { return false }
                let table = log.table
                let current = try store.read { (transaction) throws(EngramError) -> (row: EpisodicSegmentRow, blocks: [(address: UInt64, row: EpisodicBlockRow)])? in
                    guard let row = try transaction.episodicRow(table, EpisodicKey.numbered(EpisodicKey.segment, segment), as: EpisodicSegmentRow.self), row.sealed else { return nil }
                    let next = try log.segmentRow(segment + 1, transaction)
                    return (row, try EpisodicRetentionPlan.blockRows(from: row.firstPosition, below: next.firstPosition, log: log, transaction: transaction))
                }
                guard let current else { break }
                let store = self.store
                let result = try SegmentFilter.rewrite(segment: segment, row: current.row, blocks: current.blocks, erasure: erasure, log: log, blocksPerSwapMax: tuning.blocksPerSwapMax) { (addresses) throws(EngramError) -> [[UInt8]] in
                    try store.read { (transaction) throws(EngramError) in try EpisodicRetentionPlan.entries(pointingInto: addresses, log: log, transaction: transaction) }
                }
                guard let result else { break }
                do throws(EngramError) {
                    for rekey in result.rekeys {
                        try command(EpisodicIndexRekey(operation: rekey))
                        report.rekeyedIndexEntryCount += rekey.deletes.count + rekey.puts.count
                    }
                    try command(EpisodicSegmentFilter(operation: result.swap))
                } catch {
                    try? log.fileSystem.remove(log.path(segment: segment, generation: current.row.generation + 1))
                    attempts += 1
                    guard error.code == .versionConflict, attempts < 3 else { throw error }
                    continue
                }
                report.rewrittenSegmentCount += 1
                report.droppedEpisodeCount += result.droppedRecordCount
                report.droppedDamagedBlockCount += result.droppedDamagedBlockCount
                if !result.isPartial { break }
            }
        }
        return true
    }

    /// The sealed segments that may hold a dropped record: for a namespace, those holding a block
    /// one of its sequence-index entries names (every block with one of its agents' records has
    /// one); for a lead, every sealed segment below the highest lead marker.
    private func candidateSegments(_ erasure: ErasureSet) throws(EngramError) -> [UInt64] {
        let log = store.writer.episodicLog
        let table = log.table
        let namespaces = try erasure.namespaceList()
        return try store.read { (transaction) throws(EngramError) -> [UInt64] in
            let rows = try EpisodicLog.segmentRows(transaction, table)
            let active = try log.readState(transaction, table).activeSegment
            var addresses = Set<UInt64>()
            for namespace in namespaces {
                try Self.blockAddresses(namespace, table: table, in: transaction, into: &addresses)
            }
            let leadBefore = erasure.leadBeforePositionMax
            let sorted = addresses.sorted()
            let sealed = rows.keys.sorted().filter { rows[$0]!.sealed && $0 != active }
            return sealed.filter { number in
                let first = rows[number]!.firstPosition
                if first < leadBefore { return true }
                let end = rows[number + 1]?.firstPosition ?? UInt64.max
                // The first named block at or after the segment's start, by binary search.
                var low = 0, high = sorted.count
                while low < high {
                    let middle = (low + high) / 2
                    if sorted[middle] < first { low = middle + 1 } else { high = middle }
                }
                return low < sorted.count && sorted[low] < end
            }
        }
    }

    /// The blocks the namespace's sequence-index entries name.
    private static func blockAddresses(_ namespace: Namespace, table: LMDBDatabase, in transaction: StoreTransaction, into addresses: inout Set<UInt64>) throws(EngramError) {
        let prefix = EraseRange.episodicSequenceIndex.prefix(namespace)
        try transaction.withCursor(table) { (cursor) throws(EngramError) in
            var entry = try prefix.withBytes { (key) throws(EngramError) in try cursor.seek(atOrAfter: key) }
            while let current = entry, current.key.starts(with: prefix) {
                guard current.value.count == 8 else { throw EngramError(.corrupt, "an episodic index entry of \(current.value.count) bytes, expected 8") }
                addresses.insert(UInt64(littleEndian: current.value.loadUnaligned(as: UInt64.self)))
                entry = try cursor.next()
            }
        }
    }
}
