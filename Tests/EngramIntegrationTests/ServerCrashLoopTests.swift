#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramProtocol
import EngramStorage
import Synchronization
import Testing

/// The crash loop through the real server (issue 7, "Fault tests"): several clients write durably
/// to long-term memory, the episodic log, leads and campaign metric events, each recording what
/// was acknowledged; `engramd` is killed with SIGKILL at a random moment and started again, round
/// after round. After every restart each acknowledged write is there exactly (value and version,
/// episode position, sequence and timestamp, the stored lead), each agent's sequences run 1, 2,
/// 3 without a gap, leads are found by id and by email and the query returns exactly them, and
/// each campaign's summary and hourly buckets equal its events. Every `consistencyEvery` rounds,
/// and after the last, a copy of the killed server's data directory is opened with the engine and
/// the records' consistency check runs over it (every index, summary and bucket against the
/// records and events).
///
/// 50 rounds by default; `ENGRAM_SERVER_CRASH_ROUNDS=500 swift test --filter ServerCrashLoopTests`
/// for a longer run.
@Suite(.serialized) struct ServerCrashLoopTests {
    static let rounds = Int(environment("ENGRAM_SERVER_CRASH_ROUNDS") ?? "") ?? 50
    static let clients = 4
    static let consistencyEvery = 10
    static let namespace = "crash"
    /// 2026-01-01 00:00 UTC: metric events fall in the hours after it.
    static let timeBaseMicroseconds: Int64 = 1_767_225_600_000_000

    @Test func everyAcknowledgedWriteSurvivesSIGKILLOfTheServer() async throws {
        let directory = TemporaryDirectory("engram-server-crash")
        defer { directory.remove() }
        let seed = UInt64(UInt32(truncatingIfNeeded: time(nil)))
        var generator = TestRandom(seed: seed)
        let ledger = SharedLedger()
        let started = monotonicMilliseconds()

        // Each client's campaign, before the first kill.
        var server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
        let setup = EngramClient(server.clientConfiguration(connections: 1))
        var campaignIDs: [WireUUID] = []
        for client in 0..<Self.clients {
            let campaign = try await setup.campaignUpsert(namespace: Self.namespace, campaign: WireCampaign(id: FactID.random(), name: "campaign \(client)", type: "email", status: .active, budgetCents: 10_000))
            campaignIDs.append(campaign.id)
            ledger.withLock { $0.campaigns[campaign.id] = [] }
        }
        await setup.close()

        var killedAfterMilliseconds: [Int] = []
        var restartMilliseconds = 0
        var verifyMilliseconds = 0
        for round in 1...Self.rounds {
            let clients = (0..<Self.clients).map { _ in EngramClient(Self.configuration(server)) }
            let killAfter = Int(40 + generator.next() % 220)
            killedAfterMilliseconds.append(killAfter)
            await withTaskGroup(of: Void.self) { tasks in
                for (index, client) in clients.enumerated() {
                    let campaign = campaignIDs[index]
                    tasks.addTask { await Self.write(client: client, index: index, round: round, campaign: campaign, ledger: ledger) }
                }
                try? await Task.sleep(for: .milliseconds(killAfter))
                server.stop(signal: SIGKILL)
            }
            for client in clients { await client.close() }

            if round % Self.consistencyEvery == 0 || round == Self.rounds {
                try checkConsistencyOfACopy(directory.dataDirectory, round: round)
            }
            let restartStarted = monotonicMilliseconds()
            server = try ServerProcess.start(dataDirectory: directory.dataDirectory)
            let verifyStarted = monotonicMilliseconds()
            restartMilliseconds += verifyStarted - restartStarted
            let reader = EngramClient(Self.configuration(server))
            do {
                try await verify(reader, ledger: ledger, campaigns: campaignIDs, round: round)
                await reader.close()
                verifyMilliseconds += monotonicMilliseconds() - verifyStarted
            } catch {
                await reader.close()
                server.stop(signal: SIGKILL)
                throw CrashLoopFailure(round, "\(error) (seed \(seed))")
            }
        }
        expectCleanExit(server.stop())
        let final = ledger.withLock { $0 }
        print("ServerCrashLoopTests: \(Self.rounds) rounds, \(final.acknowledgedCount) acknowledged writes (\(final.values.count) keys, \(final.episodes.values.map(\.count).reduce(0, +)) episodes, \(final.leads.count) leads, \(final.campaigns.values.map(\.count).reduce(0, +)) metric events), kills after \(killedAfterMilliseconds.min()!)-\(killedAfterMilliseconds.max()!) ms; \(monotonicMilliseconds() - started) ms in all, \(restartMilliseconds) starting engramd, \(verifyMilliseconds) checking")
        #expect(final.acknowledgedCount > Self.rounds * Self.clients, "too few writes were acknowledged to test anything")
    }

    static func configuration(_ server: ServerProcess) -> EngramClientConfiguration {
        var configuration = server.clientConfiguration(connections: 1)
        configuration.requestTimeoutMilliseconds = 5_000
        configuration.connectTimeoutMilliseconds = 2_000
        return configuration
    }

    /// One client's writes, one at a time, in turn to each tier, until the server dies under it.
    static func write(client: EngramClient, index: Int, round: Int, campaign: WireUUID, ledger: SharedLedger) async {
        var count = 0
        while true {
            let tag = "c\(index)-r\(round)-n\(count)"
            let operation: CrashLedger.InFlight
            switch count % 4 {
            case 0: operation = .put(key: "c\(index)-k\(count % 13)", value: Array("value \(tag)".utf8))
            case 1: operation = .append(agent: "agent-\(index)", body: Array("episode \(tag)".utf8))
            case 2: operation = .lead(WireLead(id: FactID.random(), email: "\(tag)@example.com", source: "web", score: UInt8(count % 101), status: "new", metadata: Array("{\"n\":\(count)}".utf8)))
            default:
                let events = (0..<(1 + count % 3)).map { event in
                    WireMetricEvent(campaignID: campaign, timeMicroseconds: timeBaseMicroseconds + Int64(round * 97 + count * 7 + event) * 60_000_000, sent: UInt32(10 + count % 7), opened: UInt32(count % 5), clicked: UInt32(count % 3), converted: UInt32(event))
                }
                operation = .metrics(campaign: campaign, events: events)
            }
            ledger.withLock { $0.uncertain[index] = operation }
            do {
                switch operation {
                case .put(let key, let value):
                    let version = try await client.put(namespace: namespace, key: Array(key.utf8), value: value, durability: .durable)
                    ledger.withLock { $0.values[key] = VersionedValue(version: version, value: value) }
                case .append(let agent, let body):
                    let receipt = try await client.append(namespace: namespace, episode: WireNewEpisode(agent: agent, kind: 7, body: body), durability: .durable)
                    let episode = WireEpisode(position: receipt.position, sequence: receipt.sequence, timestampMicroseconds: receipt.timestampMicroseconds, agent: agent, kind: 7, body: body)
                    ledger.withLock { $0.episodes[agent, default: []].append(episode) }
                case .lead(let lead):
                    let stored = try await client.leadUpsert(namespace: namespace, lead: lead, durability: .durable)
                    ledger.withLock { $0.leads[stored.id] = stored }
                case .metrics(let campaign, let events):
                    _ = try await client.metricAppend(namespace: namespace, events: events, durability: .durable)
                    ledger.withLock { $0.campaigns[campaign, default: []] += events }
                }
            } catch {
                return // the server died: this write stays uncertain
            }
            ledger.withLock {
                $0.uncertain[index] = nil
                $0.acknowledgedCount += 1
            }
            count += 1
        }
    }

    /// The engine's records consistency check over a copy of the killed server's directory (the
    /// copy is recovered by the engine; the original is left for the next `engramd` to recover).
    func checkConsistencyOfACopy(_ dataDirectory: String, round: Int) throws {
        let copy = dataDirectory + "-copy"
        try runProgram("/bin/cp", ["-a", dataDirectory, copy])
        defer { _ = try? runProgram("/bin/rm", ["-rf", copy]) }
        let store = try EngramStore.open(StoreConfiguration(directory: copy))
        defer { store.close() }
        let report = try store.checkRecordsConsistency()
        #expect(report.isConsistent, "round \(round): \(report.problems.prefix(5))")
        #expect(report.campaignCount == Self.clients, "round \(round)")
    }
}
