#if canImport(Glibc)
import Glibc
#endif
import EngramCrashLoop
import Testing

/// The crash tool's short run (docs/TESTING.md, "The crash tool"): the debug `engramd` killed
/// with SIGKILL under a durable load from 8 connections, 40 rounds, most of them killing the
/// restart again before it has opened, every acknowledged write checked after each restart and
/// the records' consistency checked on a copy every 10 rounds. A fixed number of rounds: the
/// kill of each round waits for the round's first acknowledged write, and every start is awaited
/// through its output, so a starved machine makes the run slower, not weaker.
///
/// `ENGRAM_CRASHLOOP_SEED=N` repeats a seed; the seed is printed either way.
@Suite(.serialized) struct CrashLoopTests {
    static let rounds = 40

    @Test func everyAcknowledgedWriteSurvivesKillsDuringLoadAndRecovery() async throws {
        let seed = environment("ENGRAM_CRASHLOOP_SEED").flatMap { UInt64($0) } ?? UInt64(UInt32(truncatingIfNeeded: time(nil)))
        var configuration = CrashLoopConfiguration(engramdPath: ServerProcess.productsDirectory + "/engramd", length: .rounds(Self.rounds), seed: seed)
        configuration.connectionCount = 8
        // About 27 of the 39 rounds that can (the first has no open time measured to aim at).
        configuration.recoveryKillPercent = 70
        configuration.loadMillisecondsMax = 400
        configuration.consistencyEvery = 10
        configuration.printEvery = 10
        configuration.keep = environment("ENGRAM_TEST_KEEP") != nil
        let summary = await CrashLoop.run(configuration) { line in print("CrashLoopTests: \(line)") }
        print(summary.text)
        #expect(summary.failure == nil, "seed \(seed)")
        #expect(summary.lost == 0 && summary.unexpected == 0, "seed \(seed): \(summary.problems.prefix(5))")
        #expect(summary.rounds == Self.rounds)
        #expect(summary.loadKills == Self.rounds)
        #expect(summary.recoveryKills >= 10, "only \(summary.recoveryKills) of \(summary.recoveryKillsTried) recovery kills landed before the server listened (seed \(seed))")
        #expect(summary.consistencyChecks == Self.rounds / configuration.consistencyEvery + 1)
        #expect(summary.acknowledged.total >= Self.rounds * configuration.connectionCount, "too few writes were acknowledged to test anything")
        #expect(summary.acknowledged.episodeAppends > 0 && summary.acknowledged.leadInserts > 0 && summary.acknowledged.metricAppends > 0 && summary.acknowledged.counterIncrements > 0)
    }

    /// The checkpoint options the crash tool runs engramd with: accepted above (a start with an
    /// option it did not know would fail every round); 0 is a usage error, not a store that fails
    /// to open.
    @Test func engramdRefusesACheckpointIntervalOrLogSizeOfZero() throws {
        let directory = TemporaryDirectory("engram-checkpoint-options")
        defer { directory.remove() }
        let engramd = ServerProcess.productsDirectory + "/engramd"
        let common = ["--port", "0", "--admin-port", "0", "--data-directory", directory.dataDirectory]
        #expect(try runProgram(engramd, common + ["--checkpoint-interval-ms", "0"], allowFailure: true) == 64)
        #expect(try runProgram(engramd, common + ["--checkpoint-log-bytes", "0"], allowFailure: true) == 64)
        #expect(try runProgram(engramd, common + ["--checkpoint-interval-ms", "soon"], allowFailure: true) == 64)
    }
}
