import ArgumentParser
import EngramAgents
import EngramClient
#if canImport(Glibc)
import Glibc
#endif

/// `engram-agents`: runs the triage, engagement and optimization agents together against a
/// server, with a live view of the run on the terminal and a summary at the end.
///
/// Exit codes: 0 the run completed; 2 the server refused a request; 3 the server could not be
/// reached or the connection broke; 64 a usage error (including an unreadable intake file).
@main
struct EngramAgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram-agents",
        abstract: "Runs the marketing agents (triage, engagement, optimization) against engramd.",
        discussion: """
            Leads come from the built-in generator (--leads, --seed) or from --intake FILE (.jsonl or .csv). \
            Emails go to --outbox (a JSON Lines file); nothing leaves the machine. See docs/AGENTS.md. \
            Exit codes: 0 done, 2 refused by the server, 3 server unreachable, 64 usage error.
            """)

    @Option(help: "Server host [ENGRAM_HOST, default 127.0.0.1].")
    var host: String?
    @Option(help: "Server port [ENGRAM_PORT, default 7379].")
    var port: Int?
    @Option(help: "Token [ENGRAM_TOKEN, default none: open mode].")
    var token: String?
    @Option(name: [.short, .long], help: "Namespace of the run.")
    var namespace = "marketing"
    @Option(help: "Leads from the built-in generator (ignored with --intake).")
    var leads = 5_000
    @Option(help: "Read leads from this JSON Lines (.jsonl) or CSV (.csv) file instead of generating them.")
    var intake: String?
    @Option(help: "Leads a second handed to triage; 0 as fast as the agents go.")
    var leadRate: Double = 0
    @Option(help: "Stop taking new leads after this many seconds (the run then drains); 0 no limit.")
    var durationSeconds: Double = 0
    @Option(help: "Seed of the generator, the simulated customers and every agent's choices.")
    var seed: UInt64 = 1
    @Option(help: "Triage instances.")
    var triage = 4
    @Option(help: "Engagement instances.")
    var engagement = 4
    @Option(help: "Optimization instances.")
    var optimization = 2
    @Option(help: "Connections in the client's pool, shared by every instance (follows open their own).")
    var connections = 4
    @Option(help: "The outbox file the sent emails are appended to.")
    var outbox = "outbox.jsonl"
    @Option(help: "The optimizer decides after this many new sends.")
    var roundSends = 100
    @Flag(help: "No live view; print the summary only.")
    var quiet = false
    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard leads > 0 else { throw ValidationError("--leads must be positive") }
        guard leadRate >= 0, durationSeconds >= 0 else { throw ValidationError("--lead-rate and --duration-seconds cannot be negative") }
        guard (1...64).contains(connections) else { throw ValidationError("--connections must be 1 to 64") }
    }

    func run() async throws {
        var agents = AgentConfiguration(namespace: namespace, seed: seed, triageCount: triage, engagementCount: engagement, optimizationCount: optimization, outboxPath: outbox, optimizerRoundSends: roundSends)
        agents.outboxPath = outbox
        if let problem = agents.validate() { throw ValidationError(problem) }
        let source = try intakeSource()
        var client = EngramClientConfiguration()
        client.host = host ?? environment("ENGRAM_HOST") ?? client.host
        if let port { client.port = port } else if let text = environment("ENGRAM_PORT") {
            guard let value = Int(text) else { throw ValidationError("ENGRAM_PORT=\(text) is not a number") }
            client.port = value
        }
        client.token = token ?? environment("ENGRAM_TOKEN") ?? ""
        client.clientName = "engram-agents"
        client.connectionCount = connections
        let engram = EngramClient(client)
        let outboxFile: Outbox
        do {
            outboxFile = try Outbox(path: outbox)
        } catch {
            throw ValidationError("\(error)")
        }
        let runtime = AgentRuntime(client: engram, configuration: agents)
        let system = AgentSystem(runtime: runtime, intake: LeadIntake(source, leadsPerSecond: leadRate, duration: durationSeconds > 0 ? .milliseconds(Int64(durationSeconds * 1_000)) : nil), outbox: outboxFile)
        let view = LiveView(system: system, interactive: !quiet && isatty(1) == 1, quiet: quiet || json)
        let viewTask = Task { await view.run() }
        do {
            let summary = try await system.run()
            viewTask.cancel()
            await viewTask.value
            print(json ? SummaryText.json(summary) : SummaryText.text(summary, namespace: namespace, outbox: outbox))
            await engram.close()
        } catch let error as EngramClientError {
            viewTask.cancel()
            await viewTask.value
            await engram.close()
            printError("engram-agents: \(error)")
            throw ExitCode(error.code.status == nil ? 3 : 2)
        }
    }

    func intakeSource() throws -> LeadIntake.Source {
        guard let intake else { return .generator(LeadGenerator(seed: seed), count: leads) }
        let text: String
        do {
            text = try readFile(intake, byteCountMax: AgentLimits.intakeFileBytesMax)
        } catch {
            throw ValidationError("cannot read \(intake): \(error)")
        }
        do {
            return .leads(try IntakeFile.parse(text, format: IntakeFile.Format(path: intake), leadCountMax: AgentLimits.intakeLeadCountMax))
        } catch {
            throw ValidationError("\(intake): \(error)")
        }
    }
}

func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

func printError(_ text: String) {
    writeAll(text + "\n", to: 2)
}

/// Writes the whole text to a file descriptor, unbuffered (the live view redraws in place, so a
/// frame must not sit in a buffer).
func writeAll(_ text: String, to descriptor: Int32) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        bytes = bytes.dropFirst(written)
    }
}

struct FileError: Error, CustomStringConvertible {
    let description: String
}

/// The whole file as UTF-8 text, refusing files past `byteCountMax`.
func readFile(_ path: String, byteCountMax: Int) throws -> String {
    guard let file = fopen(path, "rb") else { throw FileError(description: String(cString: strerror(errno))) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count > 0 { bytes += chunk[0..<count] }
        guard bytes.count <= byteCountMax else { throw FileError(description: "larger than \(byteCountMax) bytes") }
        if count < chunk.count {
            guard ferror(file) == 0 else { throw FileError(description: String(cString: strerror(errno))) }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
