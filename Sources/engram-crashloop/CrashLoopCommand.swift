#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngramCrashLoop

/// `engram-crashloop`: kills a real `engramd` with SIGKILL under a durable write load and in the
/// middle of its recovery, round after round, and checks every acknowledged write after each
/// restart (docs/TESTING.md, "The crash tool").
@main
struct CrashLoopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram-crashloop",
        abstract: "Kill engramd with SIGKILL under load and during recovery, restart it, and check every acknowledged write.",
        discussion: """
        Each round: many connections write durably (long-term puts, compare-and-set counters, episodes, \
        lead upserts and erases, campaign metrics, a scratch namespace and its erase) until a random \
        moment; engramd is killed with SIGKILL and started again on the same directory (in some rounds \
        killed again before it has opened, then started again); then every acknowledged write is read \
        back through the client and compared. Every few rounds a copy of the killed server's directory \
        is opened in process and the records' consistency check runs over it. On a failure the \
        directory (copied before anything reopened it) and the server's logs are kept and named. \
        Exit status: 0 with no loss, 1 on any loss, a store that does not open or a failed check, \
        64 on a usage error.
        """)

    @Option(help: "Rounds to run (give this or --seconds).") var rounds: Int?
    @Option(help: "Run rounds until this many seconds have passed (give this or --rounds).") var seconds: Int?
    @Option(help: "Seed of every random choice (operations, kill moments, round kinds); printed at the start. Default: from the clock.") var seed: UInt64?
    @Option(help: "Writer connections, each with one durable write at a time.") var connections = 32
    @Option(help: "Data directory (must be missing or empty; kept at the end). Default: a fresh temporary one, removed after a run without failure.") var dataDirectory: String?
    @Option(help: "Share of rounds, in percent, that kill the restarted server again before it has opened.") var recoveryKillPercent = 30
    @Option(help: "Share of rounds, in percent, whose server checkpoints every few milliseconds (kills land in checkpoints); the others checkpoint rarely, leaving a long log to replay.") var shortCheckpointPercent = 30
    @Option(help: "The checkpoint interval of those rounds, in milliseconds.") var shortCheckpointIntervalMs = 2
    @Option(help: "Open a copy of the killed server's directory in process and run the records' consistency check every this many rounds, and after the last.") var consistencyEvery = 10
    @Option(help: "The engramd executable. Default: engramd beside this program.") var engramd: String?
    @Flag(help: "Keep the data directory and the server logs after a run without failure.") var keep = false
    @Option(name: .customLong("load-ms-max"), help: "The kill comes at a random moment up to this many milliseconds after the round's first acknowledged write.") var loadMillisecondsMax = 2_000
    @Option(help: "Lead erases a round makes on average, each by a connection chosen at random (an erase forces a checkpoint).") var leadErasesPerRound = 2
    @Option(help: "Share of rounds, in percent, in which connection 0 erases the scratch namespace (which forces a checkpoint).") var namespaceErasePercent = 30
    @Option(help: "Print a line every this many rounds (failures are always printed).") var printEvery = 1

    func validate() throws {
        guard (rounds == nil) != (seconds == nil) else { throw ValidationError("give one of --rounds and --seconds") }
    }

    func run() async throws {
        let length: CrashLoopConfiguration.Length = rounds.map { .rounds($0) } ?? .seconds(seconds!)
        var configuration = CrashLoopConfiguration(engramdPath: engramd ?? Self.siblingEngramd(), length: length, seed: seed ?? Self.clockSeed())
        configuration.connectionCount = connections
        configuration.dataDirectory = dataDirectory
        configuration.recoveryKillPercent = recoveryKillPercent
        configuration.shortCheckpointPercent = shortCheckpointPercent
        configuration.shortCheckpointIntervalMilliseconds = shortCheckpointIntervalMs
        configuration.consistencyEvery = consistencyEvery
        configuration.keep = keep
        configuration.loadMillisecondsMax = loadMillisecondsMax
        configuration.printEvery = printEvery
        configuration.leadErasesPerRound = leadErasesPerRound
        configuration.namespaceErasePercent = namespaceErasePercent
        do throws(CrashLoopError) {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        let summary = await CrashLoop.run(configuration) { line in
            print(line)
            fflush(nil)
        }
        print(summary.text)
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }

    /// `engramd` in the directory of this executable (both are built into the same one).
    static func siblingEngramd() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "engramd" }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) + "/engramd"
    }

    static func clockSeed() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_003 &+ UInt64(now.tv_nsec)
    }
}
