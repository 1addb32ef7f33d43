/// What one round does, decided from the seed and the round number alone, so a seed repeats the
/// same schedule whatever happened in earlier rounds.
struct RoundPlan: Sendable {
    enum Kind: String, Sendable, Hashable {
        /// The server checkpoints rarely: the whole round's writes are log to replay at the restart.
        case longLog = "long-log"
        /// The server checkpoints every few milliseconds: kills land inside checkpoints.
        case shortCheckpoint = "short-checkpoint"
    }

    let round: Int
    /// How the server that runs this round's load checkpoints.
    let kind: Kind
    /// Whether the restart after this round's kill is killed again before it opens.
    let recoveryKill: Bool
    /// The kill comes this long after the round's first acknowledged write.
    let loadMilliseconds: Int
    /// Connections that erase one of their leads this round, at which lead operation.
    let leadEraseAt: [Int: Int]
    /// The scratch operation at which connection 0 erases the scratch namespace, if it does.
    let scratchEraseAt: Int?
    /// For the round's other draws (the recovery kill's delay).
    var random: CrashRandom

    init(_ configuration: CrashLoopConfiguration, round: Int) {
        self.round = round
        var random = CrashRandom(seed: configuration.seed).derived(UInt64(round))
        kind = random.percent(configuration.shortCheckpointPercent) ? .shortCheckpoint : .longLog
        recoveryKill = random.percent(configuration.recoveryKillPercent)
        loadMilliseconds = random.within(0...configuration.loadMillisecondsMax)
        var erases: [Int: Int] = [:]
        for connection in 0..<configuration.connectionCount where random.below(configuration.connectionCount) < configuration.leadErasesPerRound {
            // Early, so that even a short round gets there: a connection makes a lead operation
            // in about one of five writes.
            erases[connection] = random.below(4)
        }
        leadEraseAt = erases
        scratchEraseAt = random.percent(configuration.namespaceErasePercent) ? random.below(6) : nil
        self.random = random
    }

    /// The checkpoint options `engramd` runs this kind of round with.
    static func serverArguments(_ kind: Kind, _ configuration: CrashLoopConfiguration) -> [String] {
        switch kind {
        case .longLog:
            ["--checkpoint-interval-ms", "\(configuration.longCheckpointIntervalMilliseconds)", "--checkpoint-log-bytes", "\(configuration.longCheckpointLogBytes)"]
        case .shortCheckpoint:
            ["--checkpoint-interval-ms", "\(configuration.shortCheckpointIntervalMilliseconds)"]
        }
    }

    /// The seed of connection `connection`'s writes in this round.
    static func writerRandom(_ configuration: CrashLoopConfiguration, round: Int, connection: Int) -> CrashRandom {
        CrashRandom(seed: configuration.seed).derived(0x5752_0000_0000_0000 &+ UInt64(round) << 20 &+ UInt64(connection))
    }
}
