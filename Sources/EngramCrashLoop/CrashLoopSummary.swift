/// What a run did and found; `text` is the summary `engram-crashloop` prints.
public struct CrashLoopSummary: Sendable {
    public var seed: UInt64
    public var connectionCount: Int
    public var rounds = 0
    public var elapsedMilliseconds = 0
    /// SIGKILLs under the write load, one a round.
    public var loadKills = 0
    /// Load kills that found engramd's checkpoint thread inside a checkpoint.
    public var loadKillsInCheckpoint = 0
    /// Of those, the kills that found it in LMDB's sync of `data.mdb`.
    public var loadKillsInLMDBSync = 0
    /// Rounds whose server checkpointed every few milliseconds.
    public var shortCheckpointRounds = 0
    /// Rounds that killed the restarted server at a random delay before it had opened.
    public var recoveryKillsTried = 0
    /// Of those, the kills that landed before the server printed that it listens.
    public var recoveryKills = 0
    /// Of those, the kills that found LMDB open: in the replay, the checkpoint after it, or the
    /// ports' binding (the others: the process's start or the restore of the checkpoint).
    public var recoveryKillsWithLMDBOpen = 0
    public var acknowledged = AcknowledgedCounts()
    /// Writes in flight at the load kills, and how many of them were found applied.
    public var inFlightAtKills = 0
    public var inFlightFoundApplied = 0
    public var consistencyChecks = 0
    /// Acknowledged writes missing or older than acknowledged.
    public var lost = 0
    /// State that no acknowledged or in-flight write explains, and refusals of valid writes.
    public var unexpected = 0
    /// Every start that opened (after a load kill, after a recovery kill, the first), spawn to
    /// listening.
    public var openMilliseconds: [Int] = []
    /// Log records replayed by each open after a kill (from the server's recovery event).
    public var recordsReplayed: [Int] = []
    /// Why the run stopped early: a store that did not open, a server that died, a failed check.
    public var failure: String?
    /// The first problems found, as printed.
    public var problems: [String] = []
    /// What was kept for a post-mortem, as `label: path`.
    public var evidence: [String] = []

    public init(seed: UInt64, connectionCount: Int) {
        self.seed = seed
        self.connectionCount = connectionCount
    }

    /// 0 with no loss, 1 otherwise (the tool's exit status; 64 is for usage errors, before a run).
    public var exitStatus: Int32 {
        failure == nil && lost == 0 && unexpected == 0 ? 0 : 1
    }

    public var text: String {
        var lines: [String] = []
        lines.append("engram-crashloop: seed \(seed), \(grouped(rounds)) rounds completed in \(grouped(elapsedMilliseconds / 1_000)) s, \(connectionCount) connections")
        lines.append("kills: \(grouped(loadKills)) during load (\(grouped(loadKillsInCheckpoint)) inside a checkpoint, \(grouped(loadKillsInLMDBSync)) of them in LMDB's sync), \(grouped(recoveryKills)) during recovery (\(grouped(recoveryKillsWithLMDBOpen)) of them with LMDB open, in the replay or after; \(grouped(recoveryKillsTried - recoveryKills)) more tried landed after the server listened), \(grouped(shortCheckpointRounds)) short-checkpoint rounds")
        let counts = acknowledged
        lines.append("acknowledged writes checked: \(grouped(counts.total)) (puts \(grouped(counts.puts)), counter increments \(grouped(counts.counterIncrements)), episodes \(grouped(counts.episodeAppends)), lead inserts \(grouped(counts.leadInserts)), lead updates \(grouped(counts.leadUpdates)), lead erases \(grouped(counts.leadErases)), metric appends \(grouped(counts.metricAppends)) with \(grouped(counts.metricEvents)) events, scratch puts \(grouped(counts.scratchPuts)), scratch episodes \(grouped(counts.scratchAppends)), namespace erases \(grouped(counts.namespaceErases)))")
        lines.append("in flight at the kills: \(grouped(inFlightAtKills)), found applied \(grouped(inFlightFoundApplied))")
        lines.append("consistency checks of a copy: \(grouped(consistencyChecks))")
        lines.append("losses: \(grouped(lost)); unexpected: \(grouped(unexpected))")
        lines.append("restart (open) times: p50 \(Self.percentile(openMilliseconds, 50)) ms, p99 \(Self.percentile(openMilliseconds, 99)) ms, max \(openMilliseconds.max().map(grouped) ?? "-") ms (\(openMilliseconds.count) opens); records replayed per open: p50 \(Self.percentile(recordsReplayed, 50)), max \(recordsReplayed.max().map(grouped) ?? "-")")
        for problem in problems { lines.append("  \(problem)") }
        if let failure { lines.append("FAILED: \(failure)") }
        for kept in evidence { lines.append("kept: \(kept)") }
        lines.append(exitStatus == 0 ? "result: no loss" : "result: FAILED")
        return lines.joined(separator: "\n")
    }

    /// The nearest-rank percentile, as text.
    static func percentile(_ values: [Int], _ percent: Int) -> String {
        guard !values.isEmpty else { return "-" }
        let sorted = values.sorted()
        let rank = max(1, Int((Double(percent) / 100 * Double(sorted.count)).rounded(.up)))
        return grouped(sorted[min(rank, sorted.count) - 1])
    }
}
