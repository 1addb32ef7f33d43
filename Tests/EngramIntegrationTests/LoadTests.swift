#if canImport(Glibc)
import Glibc
#endif
import EngramClient
import EngramLoad
import EngramProtocol
import Foundation
import Testing

/// `engram-load` against a real server: the seed profile for a few seconds through the
/// executable, and the `max` search's stopping rule through the library. No timing assertions:
/// the machine is shared, so only what must hold at any speed is checked.
@Suite(.serialized) struct LoadTests {
    @Test func seedProfileRunsEveryJourneyWithoutErrorsAndWritesItsReport() async throws {
        try await withServer { server in
            let directory = TemporaryDirectory("engram-load-test")
            defer { directory.remove() }
            let html = directory.path + "/report.html"
            let json = directory.path + "/report.json"
            let status = run(ServerProcess.productsDirectory + "/engram-load", [
                "--profile", "seed", "--port", "\(server.port)", "--duration", "3", "--preload-leads", "300",
                "--connections", "4", "--seed", "7", "--report", html, "--json", json,
            ])
            #expect(status == 0)
            let report = try LoadReport.decode(html: try String(contentsOfFile: html, encoding: .utf8))
            #expect(report == (try LoadReport.decode(json: try String(contentsOfFile: json, encoding: .utf8))))
            #expect(report.profile == "seed" && report.seed == 7 && report.formatVersion == LoadReport.formatVersion)
            #expect(report.scheduledPerSecond == 50)
            #expect(report.transactions == 150)
            #expect(report.errors == 0 && report.errorMessages.isEmpty)
            #expect(report.journeys.map(\.name) == JourneyKind.allCases.map(\.rawValue))
            for journey in report.journeys { #expect(journey.count > 0, "journey \(journey.name) never ran") }
            #expect(report.journeys.map(\.count).reduce(0, +) == 150)
            #expect(report.overall.count == 150)
            // Every operation of the lead and analytics journeys runs in each; engagement's
            // open/click steps run for about half.
            let operations = Dictionary(uniqueKeysWithValues: report.operations.map { ($0.name, $0.count) })
            #expect(operations[LoadOperation.leadUpsert.rawValue] == report.journeys[0].count)
            #expect(operations[LoadOperation.hourlySeries.rawValue] == 2 * report.journeys[2].count)
            #expect(report.throughput.map(\.completed).reduce(0, +) == 150)
            #expect(report.targets.map(\.name) == ["average response (plan)", "transactions a second (plan)", "errors (plan)"])
            #expect(report.targets[1].met == false && report.targets[2].met == true)
            #expect(report.curves.count == 4 && report.curves.allSatisfy { !$0.points.isEmpty })
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(page.components(separatedBy: "<svg ").count == 3)
        }
    }

    /// A step holds only with p99 at or under the bound; a bound of 0 µs fails the first step, so
    /// the search stops there and reports no rate held.
    @Test func maxSearchStopsAtTheFirstStepThatDoesNotHold() async throws {
        try await withServer { server in
            var profile = LoadProfile.max
            profile.transactionsPerSecond = 20
            profile.durationSeconds = 1
            profile.connectionCount = 2
            profile.preloadLeadCount = 50
            profile.campaignCount = 3
            profile.stepLatencyP99MicrosecondsMax = 0
            let report = try await LoadTool.run(LoadConfiguration(profile: profile, client: server.clientConfiguration(), seed: 3))
            #expect(report.steps.count == 1)
            #expect(report.steps[0].held == false && report.steps[0].scheduledPerSecond == 20)
            #expect(report.maxHeldPerSecond == nil)
            #expect(report.errors == 0 && report.transactions == 20)
            #expect(report.targets.last?.name == "highest rate held (this machine)" && report.targets.last?.met == false)
        }
    }

    /// tools/peers' PostgreSQL shapes on Engram's side: closed-loop lead inserts, then the best
    /// recent leads query over leads it loaded.
    @Test func peerShapesInsertAndQueryLeads() async throws {
        try await withServer { server in
            let client = EngramClient(server.clientConfiguration(connections: 2))
            let inserts = await PeerShapes.leadInserts(client: client, namespace: "peers", clients: 2, seconds: 0.5, seed: 1)
            #expect(inserts.shape == "lead-insert-2" && inserts.errors == 0 && inserts.operations > 0)
            try await PeerShapes.loadLeads(client: client, namespace: "peers", count: 300, seed: 1)
            let query = await PeerShapes.leadQuery(client: client, namespace: "peers", seconds: 0.5)
            #expect(query.shape == "lead-query-1" && query.errors == 0 && query.operations > 0)
            #expect(query.csv.split(separator: ",").count == 5)
            let page = try await client.leadQuery(namespace: "peers", WireLeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: MonotonicClock.wallMicroseconds() - 86_400_000_000, limit: 100))
            #expect(page.leads.allSatisfy { $0.score >= 81 })
            await client.close()
        }
    }

    @Test func theSameSeedMakesTheSameData() {
        let one = LoadDataset(namespace: "n", seed: 5, profile: .seed)
        let again = LoadDataset(namespace: "n", seed: 5, profile: .seed)
        let other = LoadDataset(namespace: "n", seed: 6, profile: .seed)
        #expect(one.campaignIDs == again.campaignIDs && one.preloadLeadIDs == again.preloadLeadIDs)
        #expect(one.campaignIDs != other.campaignIDs)
        #expect(Set(one.preloadLeadIDs).count == 12_000)
        #expect(LoadDataset.leadStream(for: one.preloadLeadIDs[0]).utf8.count == 37)
    }

    /// Runs `program` with `arguments`, its output to /dev/null; returns the exit status.
    private func run(_ program: String, _ arguments: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, program, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }
}
