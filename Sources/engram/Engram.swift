import ArgumentParser
import EngramClient
import EngramProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `engram`: the command-line client, in the manner of redis-cli.
///
/// Exit codes: 0 success; 1 not found (get, delete of a missing key); 2 the server refused the
/// request (the status is printed); 3 the server could not be reached or the connection broke;
/// 64 a usage error.
@main
struct Engram: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram",
        abstract: "Command-line client of engramd.",
        discussion: """
            Exit codes: 0 success, 1 not found, 2 refused by the server (status printed), \
            3 server unreachable or connection broken, 64 usage error.
            Connection options also come from ENGRAM_HOST, ENGRAM_PORT, ENGRAM_TOKEN, ENGRAM_NAMESPACE.
            """,
        subcommands: [
            Ping.self, Stats.self, Get.self, Put.self, Delete.self, CompareAndSet.self, Scan.self,
            ShortTermGet.self, ShortTermMultiGet.self, ShortTermPut.self, ShortTermDelete.self, ShortTermTouch.self, ShortTermStats.self,
            Append.self, Episodes.self, ScanEpisodes.self, Follow.self,
            LeadUpsertCommand.self, LeadGetCommand.self, LeadDeleteCommand.self, LeadsCommand.self,
            CampaignUpsertCommand.self, CampaignGetCommand.self, CampaignDeleteCommand.self, CampaignsCommand.self,
            MetricAppendCommand.self, CampaignSummaryCommand.self, ActiveSummariesCommand.self, HourlyCommand.self,
            SemanticPut.self, SemanticGet.self, SemanticDelete.self, SemanticScan.self,
            ConsolidateCommand.self, EraseNamespaceCommand.self, EraseLeadCommand.self, EngagementCommand.self,
            ImportCommand.self,
        ])
}

/// Where and how to connect, shared by every subcommand.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server host [ENGRAM_HOST, default 127.0.0.1].")
    var host: String?
    @Option(help: "Server port [ENGRAM_PORT, default 7379].")
    var port: Int?
    @Option(help: "Token [ENGRAM_TOKEN, default none: open mode].")
    var token: String?
    @Option(name: [.short, .long], help: "Namespace [ENGRAM_NAMESPACE, default \"default\"].")
    var namespace: String?
    @Flag(help: "Print JSON instead of text.")
    var json = false
    @Option(help: "Seconds to wait for an answer.")
    var timeout: Int = 10

    var resolvedNamespace: String { namespace ?? environment("ENGRAM_NAMESPACE") ?? "default" }

    func client() throws -> EngramClient {
        EngramClient(try configuration())
    }

    func configuration() throws -> EngramClientConfiguration {
        var configuration = EngramClientConfiguration()
        configuration.host = host ?? environment("ENGRAM_HOST") ?? configuration.host
        if let port { configuration.port = port } else if let text = environment("ENGRAM_PORT") {
            guard let value = Int(text) else { throw ValidationError("ENGRAM_PORT=\(text) is not a number") }
            configuration.port = value
        }
        configuration.token = token ?? environment("ENGRAM_TOKEN") ?? ""
        configuration.clientName = "engram-cli"
        configuration.connectionCount = 1
        configuration.requestTimeoutMilliseconds = timeout * 1000
        return configuration
    }

    /// Runs `body` with a client, prints errors, and turns them into the documented exit codes.
    func run(_ body: (EngramClient) async throws(EngramClientError) -> Void) async throws {
        let client = try client()
        do {
            try await body(client)
            await client.close()
        } catch {
            await client.close()
            if json {
                print(JSON.object([("error", .string(error.code.description)), ("message", .string(error.message))]))
            } else {
                printError("(error) \(error)")
            }
            throw ExitCode(Self.exitCode(error))
        }
    }

    static func exitCode(_ error: EngramClientError) -> Int32 {
        if error.code == .notFound { return 1 }
        if error.code.status != nil { return 2 }
        return 3
    }
}

/// A delete's answer: `OK (deleted)`, or `{"<field>": "<name>", "deleted": true}` with --json.
func printDeleted(_ field: String, _ name: String, _ options: ConnectionOptions) {
    print(options.json ? JSON.object([(field, .string(name)), ("deleted", .bool(true))]).description : "OK (deleted)")
}

/// Exits with 1 after printing "(not found)".
func notFound(_ options: ConnectionOptions, _ what: String) throws -> Never {
    if options.json {
        print(JSON.object([("error", .string("notFound")), ("message", .string(what))]))
    } else {
        print("(not found)")
    }
    Engram.exit(withError: ExitCode(1))
}

func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the server answers; prints PONG and the round trip.")
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run { (client) throws(EngramClientError) in
            let nanoseconds = try await client.ping()
            let microseconds = Double(nanoseconds) / 1000
            if options.json {
                print(JSON.object([("pong", .bool(true)), ("round_trip_us", .number(microseconds))]))
            } else {
                print("PONG (\(formatted(microseconds)) µs)")
            }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The server's counters (needs an admin grant).")
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run { (client) throws(EngramClientError) in
            let statistics = try await client.stats()
            if options.json {
                print(JSON.object(statistics.map { ($0.name, .integer($0.value)) }))
            } else {
                for statistic in statistics { print("\(statistic.name): \(statistic.value)") }
            }
        }
    }
}

func formatted(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return "\(rounded)"
}
