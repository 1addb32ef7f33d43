#if canImport(Glibc)
import Glibc
#endif

/// Copies of the data directory: before each restart (the evidence, should the restart or the
/// checks fail), for the consistency check, and what a failure keeps.
extension CrashLoopDriver {
    func copy(_ source: String, to target: String, round: Int) async throws(RoundFailure) {
        await removeTree(target)
        do throws(CrashLoopError) {
            try await copyDirectory(source, to: target)
        } catch {
            throw RoundFailure(round: round, message: error.description)
        }
    }

    /// Opens a copy of `source` in this process and runs the records' consistency check; returns
    /// the round line's note. A copy that does not open, or any problem, fails the round (the
    /// copy is then kept).
    @discardableResult
    mutating func checkConsistency(round: Int, source: String) async throws(RoundFailure) -> String {
        try await copy(source, to: paths.consistencyCopy, round: round)
        let outcome = await ConsistencyCheck.run(directory: paths.consistencyCopy)
        summary.consistencyChecks += 1
        if let failure = outcome.openFailure {
            throw RoundFailure(round: round, message: "a copy of the data directory did not open in process: \(failure)")
        }
        guard outcome.problems.isEmpty else {
            summary.unexpected += outcome.problems.count
            summary.problems += outcome.problems.prefix(20 - min(20, summary.problems.count)).map { "round \(round): consistency: \($0)" }
            throw RoundFailure(round: round, message: "the consistency check of a copy found \(outcome.problems.count) problems: \(outcome.problems.prefix(3).joined(separator: "; "))")
        }
        guard outcome.campaignCount == configuration.connectionCount else {
            summary.lost += 1
            throw RoundFailure(round: round, message: "the consistency check saw \(outcome.campaignCount) campaigns, not \(configuration.connectionCount)")
        }
        await removeTree(paths.consistencyCopy)
        return "consistent (\(grouped(outcome.leadCount)) leads, \(grouped(outcome.recordsReplayed)) records replayed in process, \(grouped(outcome.milliseconds)) ms)"
    }

    /// After a failure: the server is stopped (killed: its directory is evidence), the copies
    /// taken before the round's restarts become `D-failed-round-N` (and `...-before-second-start`),
    /// or, for a failure before any copy, `D` is copied there now, before anything reopens it.
    /// `D` itself, the logs and the consistency copy stay where they are.
    mutating func keepEvidence(round: Int) async {
        if let server {
            if let status = server.exitStatusIfEnded() {
                summary.evidence.append("engramd (pid \(server.pid)) had ended on its own before the failure was handled: exit status \(status)\(status == 0 ? ", a graceful stop (SIGTERM or SIGINT from outside?)" : "")")
            } else {
                server.kill(SIGKILL)
                summary.evidence.append("engramd (pid \(server.pid)) was still running; killed now")
            }
            _ = await server.wait()
            self.server = nil
        }
        let failed = paths.failed(round: round)
        await removeTree(failed)
        if fileExists(paths.beforeStart) {
            _ = try? await runProgram("/bin/mv", [paths.beforeStart, failed])
            summary.evidence.append("\(failed): the data directory as the kill during the load left it, copied before any restart opened it")
        } else {
            _ = try? await copyDirectory(paths.dataDirectory, to: failed)
            summary.evidence.append("\(failed): a copy of the data directory made at the failure, before anything reopened it")
        }
        if fileExists(paths.beforeSecondStart) {
            let second = failed + "-before-second-start"
            await removeTree(second)
            _ = try? await runProgram("/bin/mv", [paths.beforeSecondStart, second])
            summary.evidence.append("\(second): the data directory as the recovery kill left it")
        }
        if fileExists(paths.consistencyCopy) {
            summary.evidence.append("\(paths.consistencyCopy): the copy the consistency check opened in process")
        }
        summary.evidence.append("\(paths.dataDirectory): the data directory itself, as the last start left it")
        for log in paths.logs { summary.evidence.append("\(log): engramd's standard error") }
    }
}
