#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol

/// One round: load, kill, (copy, check a copy), restart (perhaps killing the restart in its
/// recovery), verify.
extension CrashLoopDriver {
    /// What a round's line reports.
    struct RoundReport {
        var loadMilliseconds = 0
        var acknowledged = 0
        var inFlight = 0
        var inCheckpoint = false
        var inLMDBSync = false
        /// The recovery kill's delay and whether the server had already listened by then.
        var recoveryKill: (delayMilliseconds: Int, afterListening: Bool, lmdbOpen: Bool)?
        var openMilliseconds = 0
        var recordsReplayed: Int?
        var appliedInFlight = 0
        var verifyMilliseconds = 0
        var consistency: String?
    }

    mutating func runRound(_ round: Int, isLast: Bool) async throws(RoundFailure) {
        let plan = RoundPlan(configuration, round: round)
        let next = RoundPlan(configuration, round: round + 1)
        var report = RoundReport()
        paths.pruneLogs(before: round)
        for path in [paths.beforeStart, paths.beforeSecondStart] { await removeTree(path) }
        if plan.kind == .shortCheckpoint { summary.shortCheckpointRounds += 1 }

        try await loadAndKill(plan, &report)
        try await copy(paths.dataDirectory, to: paths.beforeStart, round: round)
        if round % configuration.consistencyEvery == 0 || isLast {
            report.consistency = try await checkConsistency(round: round, source: paths.beforeStart)
        }
        try await restart(plan, next: next, &report)
        try await verify(round: round, fullEpisodeRead: round % configuration.consistencyEvery == 0 || isLast, &report)
        if round % configuration.printEvery == 0 || isLast {
            output(line(plan, report))
        }
    }

    /// Runs the writers until the round's first acknowledged write and the plan's delay after
    /// it, then kills the server and waits for every writer to stop.
    private mutating func loadAndKill(_ plan: RoundPlan, _ report: inout RoundReport) async throws(RoundFailure) {
        guard let server else { preconditionFailure("round \(plan.round) began without a server") }
        let count = configuration.connectionCount
        let ledger = self.ledger
        ledger.beginRound(writers: count)
        let clients = (0..<count).map { _ in EngramClient(clientConfiguration(connections: 1)) }
        let writers = (0..<count).map { connection in
            LoadWriter(connection: connection, round: plan.round, client: clients[connection], ledger: ledger, campaign: campaigns[connection],
                       random: RoundPlan.writerRandom(configuration, round: plan.round, connection: connection),
                       leadEraseAt: plan.leadEraseAt[connection], scratchEraseAt: connection == 0 ? plan.scratchEraseAt : nil)
        }
        let started = monotonicMilliseconds()
        let (exitStatus, activity) = await withTaskGroup(of: Void.self) { group -> (Int32, ServerProbe.CheckpointActivity) in
            for writer in writers {
                group.addTask {
                    var writer = writer
                    await writer.run()
                }
            }
            if await ledger.waitForLoad() > 0 {
                try? await Task.sleep(for: .milliseconds(plan.loadMilliseconds))
            }
            let activity = ServerProbe.checkpointActivity(pid: server.pid)
            server.kill(SIGKILL)
            let status = await server.wait()
            await group.waitForAll()
            return (status, activity)
        }
        for client in clients { await client.close() }
        self.server = nil
        report.loadMilliseconds = monotonicMilliseconds() - started
        report.inCheckpoint = activity.inCheckpoint
        report.inLMDBSync = activity.syncingLMDB
        let state = ledger.current
        report.acknowledged = state.roundAcknowledged
        report.inFlight = state.uncertain.count
        summary.loadKills += 1
        if activity.inCheckpoint { summary.loadKillsInCheckpoint += 1 }
        if activity.syncingLMDB { summary.loadKillsInLMDBSync += 1 }
        summary.acknowledged = state.acknowledged
        if !state.problems.isEmpty {
            summary.unexpected += state.problems.count
            summary.problems += state.problems.prefix(20 - min(20, summary.problems.count))
            throw RoundFailure(round: plan.round, message: "the writers saw \(state.problems.count) problems: \(state.problems.prefix(3).joined(separator: "; "))")
        }
        guard exitStatus == 128 + SIGKILL else {
            throw RoundFailure(round: plan.round, message: "engramd ended on its own during the load, exit status \(exitStatus); see \(server.standardErrorPath)")
        }
        guard report.acknowledged > 0 else {
            throw RoundFailure(round: plan.round, message: "no write was acknowledged in this round; see \(server.standardErrorPath)")
        }
    }

    /// Starts the server again (killing the first start in its recovery if the plan says so)
    /// with the next round's checkpoint options, and waits for it to open.
    private mutating func restart(_ plan: RoundPlan, next: RoundPlan, _ report: inout RoundReport) async throws(RoundFailure) {
        var start = 1
        var random = plan.random
        if plan.recoveryKill, let delay = recoveryKillDelay(for: plan.kind, &random) {
            summary.recoveryKillsTried += 1
            let process = try spawn(round: plan.round, start: start, kind: next.kind)
            try? await Task.sleep(for: .milliseconds(delay))
            let lmdbOpen = ServerProbe.hasLMDBOpen(pid: process.pid)
            process.kill(SIGKILL)
            let status = await process.wait()
            let listened = await process.listening(timeoutMilliseconds: configuration.startTimeoutMilliseconds) != nil
            guard status == 128 + SIGKILL else {
                throw RoundFailure(round: plan.round, message: "the restart ended on its own before the recovery kill at \(delay) ms, exit status \(status)\(listened ? "" : ": the store did not open"); see \(process.standardErrorPath)")
            }
            if !listened {
                summary.recoveryKills += 1
                if lmdbOpen { summary.recoveryKillsWithLMDBOpen += 1 }
            }
            report.recoveryKill = (delay, listened, lmdbOpen)
            start += 1
            try await copy(paths.dataDirectory, to: paths.beforeSecondStart, round: plan.round)
        }
        let process = try spawn(round: plan.round, start: start, kind: next.kind)
        guard let listening = await process.listening(timeoutMilliseconds: configuration.startTimeoutMilliseconds) else {
            let status = await process.wait()
            throw RoundFailure(round: plan.round, message: "the store did not open: engramd exited with status \(status) without listening; see \(process.standardErrorPath)")
        }
        server = process
        port = listening.port
        report.openMilliseconds = listening.openMilliseconds
        report.recordsReplayed = Self.recordsReplayed(logPath: process.standardErrorPath)
        summary.openMilliseconds.append(listening.openMilliseconds)
        if let replayed = report.recordsReplayed { summary.recordsReplayed.append(replayed) }
        openTimes[plan.kind, default: []].append(listening.openMilliseconds)
    }

    /// A delay spread over what opening took after earlier kills of the same kind of round
    /// (a random one of the last 50, times a random fraction); nil before any was measured.
    private func recoveryKillDelay(for kind: RoundPlan.Kind, _ random: inout CrashRandom) -> Int? {
        let measured = (openTimes[kind] ?? openTimes.values.flatMap { $0 }).suffix(50)
        guard !measured.isEmpty else { return nil }
        let sample = Array(measured)[random.below(measured.count)]
        return Int(random.unit() * Double(sample))
    }

    /// The count in the server's recovery event ("recordsReplayed: N"), if its log has one.
    static func recordsReplayed(logPath: String) -> Int? {
        guard let file = fopen(logPath, "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            guard let range = text.firstRange(of: "recordsReplayed: ") else { continue }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    /// Every check through the server; the ledger carries on with what it settled.
    mutating func verify(round: Int, fullEpisodeRead: Bool, _ report: inout RoundReport) async throws(RoundFailure) {
        let started = monotonicMilliseconds()
        let client = EngramClient(clientConfiguration(connections: 8))
        var verifier = Verifier(client: client, ledger: ledger.current, fullEpisodeRead: fullEpisodeRead)
        do throws(EngramClientError) {
            try await verifier.run()
            await client.close()
        } catch {
            await client.close()
            let state = server.map { server in
                server.exitStatusIfEnded().map { "engramd (pid \(server.pid)) had ended, exit status \($0)" } ?? "engramd (pid \(server.pid)) is still running"
            } ?? "no engramd"
            throw RoundFailure(round: round, message: "a check's request failed: \(error); \(state)")
        }
        report.verifyMilliseconds = monotonicMilliseconds() - started
        report.appliedInFlight = verifier.appliedInFlightCount
        summary.inFlightAtKills += verifier.uncertainCount
        summary.inFlightFoundApplied += verifier.appliedInFlightCount
        let problems = verifier.problems
        summary.lost += problems.filter { $0.kind == .lost }.count
        summary.unexpected += problems.filter { $0.kind == .unexpected }.count
        summary.problems += problems.prefix(20 - min(20, summary.problems.count)).map { "round \(round): \($0)" }
        let settled = verifier.settled
        ledger.withLock { $0 = settled }
        summary.acknowledged = settled.acknowledged
        if !problems.isEmpty {
            for problem in problems.prefix(20) { output("round \(round): \(problem)") }
            throw RoundFailure(round: round, message: "\(problems.count) writes were not as acknowledged")
        }
    }

    func line(_ plan: RoundPlan, _ report: RoundReport) -> String {
        var parts = ["round \(plan.round) \(plan.kind.rawValue): killed after \(grouped(report.loadMilliseconds)) ms, \(grouped(report.acknowledged)) acknowledged, \(report.inFlight) in flight (\(report.appliedInFlight) applied)"]
        if report.inCheckpoint { parts.append(report.inLMDBSync ? "killed in a checkpoint's LMDB sync" : "killed in a checkpoint") }
        if let kill = report.recoveryKill {
            let moment = kill.afterListening ? "after it listened" : kill.lmdbOpen ? "before it listened, LMDB open" : "before it listened, before LMDB opened"
            parts.append("recovery kill at \(kill.delayMilliseconds) ms (\(moment))")
        }
        parts.append("open \(grouped(report.openMilliseconds)) ms" + (report.recordsReplayed.map { ", \(grouped($0)) records replayed" } ?? ""))
        parts.append("verified in \(grouped(report.verifyMilliseconds)) ms")
        if let consistency = report.consistency { parts.append(consistency) }
        return parts.joined(separator: "; ")
    }
}
