#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import EngramClient
import EngramLoad

/// `engram-load`: the marketing system's journeys against a running `engramd`, on an open-loop
/// schedule, with a report (docs/PERFORMANCE.md, "Journeys under load").
@main
struct EngramLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram-load",
        abstract: "Drive engramd with the marketing system's journeys on a fixed schedule and report latency, throughput and errors.",
        discussion: """
        Profiles: seed (50 journeys/s, 100 connections, 10 campaigns, 12,000 leads), seed-10x (500/s, 1,000 \
        connections, 100 campaigns, 120,000 leads), max (from 1,000/s, times 1.5 a step of --duration \
        seconds, until a step's p99 passes 10 ms, errors reach 0.1 % or it falls behind; reports the highest \
        rate that held). Exit status: 0 when the run completed with errors under 0.1 %, 1 otherwise, 64 on a \
        usage error.
        """)

    @Option(help: "Profile: seed, seed-10x or max.") var profile = "seed"
    @Option(help: "Seconds to run (for max: seconds per step). Default: the profile's (60; 10 per step for max).") var duration: Double?
    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 7379
    @Option(help: "Token (empty for a server in open mode).") var token = ""
    @Option(help: "Namespace the journeys work in.") var namespace = "load"
    @Option(help: "Seed: the same seed makes the same requests.") var seed: UInt64 = 1
    @Option(help: "Connections instead of the profile's.") var connections: Int?
    @Option(help: "Journeys a second instead of the profile's (max: the first step's).") var rate: Double?
    @Option(help: "Leads to preload instead of the profile's (a day of its lead rate).") var preloadLeads: Int?
    @Flag(help: "Do not write the sources, campaigns and leads (an earlier run with the same seed and profile did).") var skipPreload = false
    @Option(help: "Write the self-contained HTML report here.") var report = "engram-load-report.html"
    @Option(help: "Also write the report as JSON here.") var json: String?
    @Option(help: "Instead of a profile, one of tools/peers' PostgreSQL shapes, closed loop: lead-insert (durable lead upserts from --clients clients) or lead-query (score above 80 in the last 24 hours, limit 100, one client, after loading --leads leads), which print shape,operations/s,p50 ms,p99 ms,errors; or steady-writes (durable puts at --rate a second, open loop, over --connections connections (50), for --duration seconds (30), with each one-second window's p99.9 and the checkpoints the server took: run the server with a short --checkpoint-interval-ms).") var shape: String?
    @Option(help: "Clients for --shape lead-insert.") var clients = 16
    @Option(help: "Leads --shape lead-query loads first (0: they are there).") var leads = 1_000_000

    func run() async throws {
        if let shape { return try await runShape(shape) }
        guard var chosen = LoadProfile.named(profile) else { throw ValidationError("unknown profile \(profile): seed, seed-10x or max") }
        if let duration {
            guard duration > 0 else { throw ValidationError("--duration must be positive") }
            chosen.durationSeconds = duration
        }
        if let connections {
            guard connections > 0 else { throw ValidationError("--connections must be positive") }
            chosen.connectionCount = connections
        }
        if let rate {
            guard rate > 0 else { throw ValidationError("--rate must be positive") }
            chosen.transactionsPerSecond = rate
        }
        if let preloadLeads {
            guard preloadLeads >= 0 else { throw ValidationError("--preload-leads must not be negative") }
            chosen.preloadLeadCount = preloadLeads
        }
        let client = EngramClientConfiguration(host: host, port: port, token: token)
        let configuration = LoadConfiguration(profile: chosen, client: client, namespace: namespace, seed: seed, skipPreload: skipPreload)
        let terminal = isatty(STDERR_FILENO) == 1
        let result = try await LoadTool.run(configuration) { line in
            // On a terminal one line rewritten in place; otherwise one line each.
            let text = terminal ? "\r\u{1B}[K" + line : line + "\n"
            writeStandardError(text)
        }
        if terminal { writeStandardError("\n") }
        print(result.text)
        try write(result.html, to: report)
        print("\nreport: \(report)")
        if let json { try write(result.json() + "\n", to: json) }
        if result.errorRate >= 0.001 || result.transactions == 0 { throw ExitCode(1) }
    }

    private func runShape(_ shape: String) async throws {
        guard clients > 0, leads >= 0 else { throw ValidationError("--clients must be positive and --leads not negative") }
        var configuration = EngramClientConfiguration(host: host, port: port, token: token, clientName: "engram-load")
        configuration.connectionCount = Swift.min(clients, 64)
        let client = EngramClient(configuration)
        defer { Task { await client.close() } }
        let seconds = duration ?? 30
        let result: PeerShapes.Result
        switch shape {
        case "lead-insert":
            result = await PeerShapes.leadInserts(client: client, namespace: namespace, clients: clients, seconds: seconds, seed: seed)
        case "lead-query":
            if leads > 0 { try await PeerShapes.loadLeads(client: client, namespace: namespace, count: leads, seed: seed) }
            result = await PeerShapes.leadQuery(client: client, namespace: namespace, seconds: seconds)
        case "steady-writes":
            return try await runSteadyWrites(seconds: seconds)
        default:
            throw ValidationError("unknown shape \(shape): lead-insert, lead-query or steady-writes")
        }
        print(result.csv)
        if result.errors > 0 || result.operations == 0 { throw ExitCode(1) }
    }

    private func runSteadyWrites(seconds: Double) async throws {
        let writeRate = rate ?? 2_000
        let connectionCount = connections ?? 50
        guard writeRate > 0, connectionCount > 0, seconds >= 1 else { throw ValidationError("--rate and --connections must be positive and --duration at least 1") }
        var configuration = EngramClientConfiguration(host: host, port: port, token: token, clientName: "engram-load")
        configuration.connectionCount = connectionCount
        let client = EngramClient(configuration)
        defer { Task { await client.close() } }
        let result = try await SteadyWrites.run(client: client, namespace: namespace, rate: writeRate, seconds: seconds, connections: connectionCount, seed: seed)
        print(result.text)
        if result.errors > 0 || result.writes == 0 { throw ExitCode(1) }
    }

    private func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw ValidationError("cannot open \(path) for writing: errno \(errno)") }
        defer { fclose(file) }
        guard fputs(text, file) >= 0 else { throw ValidationError("cannot write \(path): errno \(errno)") }
    }
}

/// Writes to file descriptor 2 directly: C's `stderr` is a global Swift 6 will not share.
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        guard written > 0 else { return }
        offset += written
    }
}
