/// What one run of the crash loop does. Every field has the default `engram-crashloop` uses; the
/// suite's short run shrinks a few.
public struct CrashLoopConfiguration: Sendable {
    /// How long the run is: a number of rounds, or rounds until this many seconds have passed.
    public enum Length: Sendable, Equatable {
        case rounds(Int)
        case seconds(Int)
    }

    /// The `engramd` executable.
    public var engramdPath: String
    public var length: Length
    public var seed: UInt64
    /// Writer connections, each with one write at a time.
    public var connectionCount = 32
    /// The data directory; nil for a fresh temporary one, removed after a run without failure.
    public var dataDirectory: String?
    /// Share of rounds, in percent, that kill the restarted server again before it has opened.
    public var recoveryKillPercent = 30
    /// Share of rounds, in percent, whose server checkpoints every `shortCheckpointIntervalMilliseconds`
    /// (kills land inside checkpoints); the others checkpoint rarely, so the log past the last
    /// checkpoint is the whole round's and recovery has much to replay.
    public var shortCheckpointPercent = 30
    /// A consistency check of a copy every this many rounds, and after the last.
    public var consistencyEvery = 10
    /// Keep the data directory and the server logs after a run without failure.
    public var keep = false
    /// The kill comes this long at most (at random, from 0) after the round's first acknowledged write.
    public var loadMillisecondsMax = 2_000
    /// Print a round's line every this many rounds (failures are always printed).
    public var printEvery = 1
    /// The long-log rounds' checkpoint interval and log-volume trigger: longer than any round.
    public var longCheckpointIntervalMilliseconds = 600_000
    public var longCheckpointLogBytes = 1 << 30
    /// The short-checkpoint rounds' interval: the writer checkpoints after nearly every batch, and
    /// about half the kills of a round land inside a checkpoint (at 20 ms, hardly any did here).
    public var shortCheckpointIntervalMilliseconds = 2
    /// A start that has not printed its listening line by then is killed and counted as a store
    /// that did not open. Generous: a debug build on a busy machine replays slowly.
    public var startTimeoutMilliseconds = 300_000
    /// Per request; an erase rewrites segments and waits for a checkpoint.
    public var requestTimeoutMilliseconds = 120_000
    /// Lead erases a round makes on average (each by a connection chosen at random).
    public var leadErasesPerRound = 2
    /// Share of rounds, in percent, in which connection 0 erases the scratch namespace once.
    public var namespaceErasePercent = 30

    public init(engramdPath: String, length: Length, seed: UInt64) {
        self.engramdPath = engramdPath
        self.length = length
        self.seed = seed
    }

    /// Checks every field; the message names the first bad one (a usage error for the tool).
    public func validate() throws(CrashLoopError) {
        func require(_ condition: Bool, _ message: String) throws(CrashLoopError) {
            if !condition { throw CrashLoopError(message) }
        }
        switch length {
        case .rounds(let rounds): try require(rounds > 0, "--rounds must be positive, got \(rounds)")
        case .seconds(let seconds): try require(seconds > 0, "--seconds must be positive, got \(seconds)")
        }
        try require((1...LoadShape.connectionCountMax).contains(connectionCount), "--connections must be 1 to \(LoadShape.connectionCountMax), got \(connectionCount)")
        try require((0...100).contains(recoveryKillPercent), "--recovery-kill-percent must be 0 to 100, got \(recoveryKillPercent)")
        try require((0...100).contains(shortCheckpointPercent), "--short-checkpoint-percent must be 0 to 100, got \(shortCheckpointPercent)")
        try require((0...100).contains(namespaceErasePercent), "--namespace-erase-percent must be 0 to 100, got \(namespaceErasePercent)")
        try require(consistencyEvery > 0, "--consistency-every must be positive, got \(consistencyEvery)")
        try require(loadMillisecondsMax >= 0, "--load-ms-max must not be negative, got \(loadMillisecondsMax)")
        try require(printEvery > 0, "--print-every must be positive, got \(printEvery)")
        try require(longCheckpointIntervalMilliseconds > 0 && longCheckpointLogBytes > 0, "the long-log rounds' checkpoint interval and size must be positive")
        try require(shortCheckpointIntervalMilliseconds > 0, "--short-checkpoint-interval-ms must be positive, got \(shortCheckpointIntervalMilliseconds)")
        try require(startTimeoutMilliseconds > 0 && requestTimeoutMilliseconds > 0, "timeouts must be positive")
        try require(leadErasesPerRound >= 0, "--lead-erases-per-round must not be negative, got \(leadErasesPerRound)")
        try require(!engramdPath.isEmpty && fileExists(engramdPath), "no engramd at \(engramdPath) (--engramd)")
    }
}

/// The shape of the write load: how many keys, counters, agents and leads it spreads over. Small
/// enough that every round reads all of it back, large enough that writes interleave.
enum LoadShape {
    /// Each a task and a connection; the server allows 4,096.
    static let connectionCountMax = 1_000
    /// Long-term keys per connection, overwritten round after round.
    static let keysPerConnection = 16
    /// Counters all connections increment.
    static let counterCount = 8
    /// Agents the connections append episodes for (connection n appends for agent n modulo this).
    static let agentCount = 6
    /// Live leads per connection; past it a connection only updates (and erases) its own.
    static let leadsPerConnectionMax = 24
    /// Keys of the scratch namespace.
    static let scratchKeyCount = 32
    /// Metric events per append.
    static let eventsPerAppendMax = 4
    /// Hours the metric events fall in, so each campaign has a bounded set of hourly buckets.
    static let eventHours = 48
    /// 2026-01-01 00:00 UTC: the metric events' hours start there.
    static let eventTimeBaseMicroseconds: Int64 = 1_767_225_600_000_000
    /// In percent of a connection's operations (connection 0 also gives `scratchPercent` of its
    /// own to the scratch namespace).
    static let putPercent = 30
    static let incrementPercent = 15
    static let appendPercent = 20
    static let leadPercent = 20
    // The rest, 15 %: metric appends.
    static let scratchPercent = 25
    /// A lead operation inserts a new lead this often while the connection is under its maximum.
    static let newLeadPercent = 40
    /// A lead update changes the email this often (the email index moves).
    static let emailChangePercent = 15

    static let namespace = "crash"
    static let scratchNamespace = "crash-scratch"
    static let scratchAgent = "scratch-agent"
    static let episodeKind: UInt16 = 7

    static func agent(_ index: Int) -> String { "agent-\(index)" }
    static func counter(_ index: Int) -> String { "counter/\(index)" }
    static func key(connection: Int, index: Int) -> String { "lt/c\(connection)/k\(index)" }
}
