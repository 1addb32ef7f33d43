#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol

/// The crash tool (docs/TESTING.md, "The crash tool"): a real `engramd` on one data directory,
/// under a durable write load from many connections, killed with SIGKILL at random moments (and
/// again in the middle of its recovery), restarted, and held to what its clients were told.
///
/// `engram-crashloop` is this with arguments; the suite's `CrashLoopTests` runs a short one in
/// process. One run at a time per data directory.
public enum CrashLoop {
    /// Runs the loop to its end, or to the first failure, and returns what it did and found.
    /// `output` gets each line to print (a round's line, a failure's details), as they come.
    public static func run(_ configuration: CrashLoopConfiguration, output: @escaping @Sendable (String) -> Void) async -> CrashLoopSummary {
        var summary = CrashLoopSummary(seed: configuration.seed, connectionCount: configuration.connectionCount)
        do throws(CrashLoopError) {
            try configuration.validate()
            let paths = try RunPaths.make(configuration.dataDirectory)
            var driver = CrashLoopDriver(configuration: configuration, paths: paths, output: output)
            await driver.run()
            return driver.summary
        } catch {
            summary.failure = error.description
            return summary
        }
    }
}

/// A failure that ends the run: its round and what happened. The evidence is kept before the
/// run returns.
struct RoundFailure: Error {
    let round: Int
    let message: String
}

/// The loop's state across rounds. Owned by `CrashLoop.run`, one task.
struct CrashLoopDriver {
    let configuration: CrashLoopConfiguration
    let paths: RunPaths
    let output: @Sendable (String) -> Void
    let ledger = SharedLedger()
    var summary: CrashLoopSummary
    /// The server that runs the next round's load, and its data port.
    var server: EngramdProcess?
    var port = 0
    /// Each connection's campaign.
    var campaigns: [WireUUID] = []
    /// Opens after kills, by the kind of log they recovered: the recovery kill's delay is drawn
    /// over them.
    var openTimes: [RoundPlan.Kind: [Int]] = [:]
    let startedMilliseconds = monotonicMilliseconds()

    init(configuration: CrashLoopConfiguration, paths: RunPaths, output: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.paths = paths
        self.output = output
        summary = CrashLoopSummary(seed: configuration.seed, connectionCount: configuration.connectionCount)
    }

    mutating func run() async {
        output("engram-crashloop: seed \(configuration.seed), \(configuration.connectionCount) connections, data \(paths.dataDirectory), engramd \(configuration.engramdPath)")
        var round = 0
        do throws(RoundFailure) {
            try await prepare()
            while true {
                if case .rounds(let count) = configuration.length, round == count { break }
                if case .seconds(let seconds) = configuration.length, monotonicMilliseconds() - startedMilliseconds >= seconds * 1_000 { break }
                round += 1
                let isLast: Bool
                if case .rounds(let count) = configuration.length { isLast = round == count } else { isLast = false }
                try await runRound(round, isLast: isLast)
                summary.rounds = round
            }
            try await finish(round: round)
            summary.elapsedMilliseconds = monotonicMilliseconds() - startedMilliseconds
            await cleanUp()
        } catch {
            summary.failure = "round \(error.round): \(error.message)"
            summary.elapsedMilliseconds = monotonicMilliseconds() - startedMilliseconds
            output("round \(error.round): FAILED: \(error.message)")
            await keepEvidence(round: error.round)
        }
    }

    /// The first start, on an empty directory, and each connection's campaign.
    private mutating func prepare() async throws(RoundFailure) {
        let first = RoundPlan(configuration, round: 1)
        let process = try spawn(round: 0, start: 1, kind: first.kind)
        guard let listening = await process.listening(timeoutMilliseconds: configuration.startTimeoutMilliseconds) else {
            let status = await process.wait()
            throw RoundFailure(round: 0, message: "engramd did not start on an empty directory (exit status \(status)); see \(process.standardErrorPath)")
        }
        server = process
        port = listening.port
        summary.openMilliseconds.append(listening.openMilliseconds)
        let client = EngramClient(clientConfiguration(connections: 1))
        var random = CrashRandom(seed: configuration.seed).derived(0xCA4E)
        do throws(EngramClientError) {
            for connection in 0..<configuration.connectionCount {
                let id = WireUUID(bytes: (0..<2).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } })
                let campaign = WireCampaign(id: id, name: "crash campaign \(connection)", type: "email", status: .active, budgetCents: 10_000)
                let stored = try await client.campaignUpsert(namespace: LoadShape.namespace, campaign: campaign, durability: .durable)
                campaigns.append(stored.id)
                ledger.withLock { $0.campaigns[stored.id] = CampaignEntry(owner: connection) }
            }
            await client.close()
        } catch {
            await client.close()
            throw RoundFailure(round: 0, message: "creating the campaigns failed: \(error)")
        }
    }

    func clientConfiguration(connections: Int) -> EngramClientConfiguration {
        var client = EngramClientConfiguration(port: port, clientName: "engram-crashloop")
        client.connectionCount = connections
        client.requestTimeoutMilliseconds = configuration.requestTimeoutMilliseconds
        client.connectTimeoutMilliseconds = 10_000
        return client
    }

    func spawn(round: Int, start: Int, kind: RoundPlan.Kind) throws(RoundFailure) -> EngramdProcess {
        do throws(CrashLoopError) {
            return try EngramdProcess.spawn(program: configuration.engramdPath, dataDirectory: paths.dataDirectory, arguments: RoundPlan.serverArguments(kind, configuration), standardErrorPath: paths.log(round: round, start: start))
        } catch {
            throw RoundFailure(round: round, message: error.description)
        }
    }

    /// After the last round: (for a run by time, a last full read of the episodes,) a graceful
    /// stop (it must exit 0), then the consistency check of a copy of what it left.
    private mutating func finish(round: Int) async throws(RoundFailure) {
        guard let server else { return }
        if case .seconds = configuration.length, round > 0 {
            // The last round was not known in advance: read every episode once more now.
            var report = RoundReport()
            try await verify(round: round, fullEpisodeRead: true, &report)
        }
        server.kill(SIGTERM)
        let status = await server.wait()
        self.server = nil
        guard status == 0 else {
            throw RoundFailure(round: round, message: "engramd did not stop cleanly on SIGTERM: exit status \(status); see \(server.standardErrorPath)")
        }
        try await checkConsistency(round: round, source: paths.dataDirectory)
    }

    /// After a run without failure: the copies go, and the temporary directory unless kept.
    private func cleanUp() async {
        for path in [paths.beforeStart, paths.beforeSecondStart, paths.consistencyCopy] { await removeTree(path) }
        if configuration.keep {
            output("kept: \(paths.dataDirectory) and the logs in \(paths.logsDirectory)")
        } else if let root = paths.temporaryRoot {
            await removeTree(root)
        }
    }
}
