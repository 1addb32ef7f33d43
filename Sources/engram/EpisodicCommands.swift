import ArgumentParser
import EngramClient
import EngramProtocol
#if canImport(Glibc)
import Glibc
#endif

func uuid(_ text: String, _ option: String) throws -> WireUUID {
    guard let id = WireUUID(text) else { throw ValidationError("\(option) \(text) is not a UUID (8-4-4-4-12 hex digits)") }
    return id
}

/// Microseconds since 1970 as UTC ISO 8601 with microseconds (days to civil date: H. Hinnant's
/// algorithm), without Foundation.
func isoTime(_ microseconds: Int64) -> String {
    let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
    let fraction = microseconds - seconds * 1_000_000
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 6))Z"
}

func episodeJSON(_ episode: WireEpisode) -> JSON {
    var fields: [(String, JSON)] = [
        ("position", .integer(episode.position)), ("agent", .string(episode.agent)), ("sequence", .integer(episode.sequence)),
        ("timestamp_us", .number(Double(episode.timestampMicroseconds))), ("time", .string(isoTime(episode.timestampMicroseconds))),
        ("kind", .integer(UInt64(episode.kind))),
    ]
    fields.append(("lead", episode.lead.map { .string($0.description) } ?? .null))
    fields.append(("campaign", episode.campaign.map { .string($0.description) } ?? .null))
    fields.append(JSON.bytesField("body", episode.body))
    return .object(fields)
}

func printEpisode(_ episode: WireEpisode) {
    var line = "#\(episode.position) \(isoTime(episode.timestampMicroseconds)) \(episode.agent)/\(episode.sequence) kind \(episode.kind)"
    if let lead = episode.lead { line += " lead \(lead)" }
    if let campaign = episode.campaign { line += " campaign \(campaign)" }
    print(line + ": " + display(episode.body))
}

struct Append: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Append episodes to an agent's history (several bodies: one batch, all or none); prints each one's position.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The agent.") var agent: String
    @Argument(help: "The episodes' bodies; '-' reads one from standard input.") var bodies: [String]
    @Option(help: "The event kind (a number of the caller's vocabulary).") var kind: UInt16 = 0
    @Option(help: "The lead id (a UUID).") var lead: String?
    @Option(help: "The campaign id (a UUID).") var campaign: String?
    @Flag(help: "Acknowledge once applied, before the sync.") var applied = false

    func run() async throws {
        guard !bodies.isEmpty else { throw ValidationError("give at least one body") }
        let leadID = try lead.map { try uuid($0, "--lead") }
        let campaignID = try campaign.map { try uuid($0, "--campaign") }
        let episodes = try bodies.map { WireNewEpisode(agent: agent, kind: kind, lead: leadID, campaign: campaignID, body: try ValueInput.parse([$0]).bytes()) }
        try await options.run { (client) throws(EngramClientError) in
            let receipts = try await client.append(namespace: options.resolvedNamespace, episodes: episodes, durability: applied ? .applied : nil)
            if options.json {
                print(JSON.array(receipts.map { JSON.object([("position", .integer($0.position)), ("sequence", .integer($0.sequence)), ("timestamp_us", .number(Double($0.timestampMicroseconds)))]) }))
            } else {
                for receipt in receipts { print("OK position \(receipt.position) (\(agent)/\(receipt.sequence), \(isoTime(receipt.timestampMicroseconds)))") }
            }
        }
    }
}

struct Episodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an agent's episodes by sequence or time, either order, following pages up to --limit.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The agent.") var agent: String
    @Option(help: "The first sequence.") var fromSequence: UInt64 = 1
    @Option(help: "The last sequence.") var toSequence: UInt64 = .max
    @Option(help: "The earliest timestamp, microseconds since 1970.") var since: Int64 = .min
    @Option(help: "The latest timestamp, microseconds since 1970.") var until: Int64 = .max
    @Flag(help: "Newest first.") var newestFirst = false
    @Option(help: "Most episodes to print.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        guard fromSequence >= 1, fromSequence <= toSequence, since <= until else { throw ValidationError("the range's low bounds must not pass its high bounds") }
        var episodes: [WireEpisode] = []
        try await options.run { (client) throws(EngramClientError) in
            var range: WireEpisodeRange? = WireEpisodeRange(sequences: fromSequence...toSequence, time: since...until)
            while let current = range, episodes.count < limit {
                let page = try await client.episodes(namespace: options.resolvedNamespace, agent: agent, range: current, order: newestFirst ? .newestFirst : .oldestFirst, limit: limit - episodes.count)
                episodes += page.episodes
                range = page.next
            }
        }
        if options.json {
            print(JSON.array(episodes.map(episodeJSON)))
        } else if episodes.isEmpty {
            print("(empty)")
        } else {
            episodes.forEach(printEpisode)
        }
    }
}

struct ScanEpisodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scan-episodes", abstract: "Print a namespace's episodes in position order from --from, up to --limit.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The first position.") var from: UInt64 = 1
    @Option(help: "Most episodes to print.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        var episodes: [WireEpisode] = []
        var next = from
        try await options.run { (client) throws(EngramClientError) in
            while episodes.count < limit {
                let page = try await client.scanEpisodes(namespace: options.resolvedNamespace, from: next, limit: limit - episodes.count)
                episodes += page.episodes
                next = page.nextPosition
                if page.isAtEnd { break }
            }
        }
        if options.json {
            print(JSON.object([("episodes", JSON.array(episodes.map(episodeJSON))), ("next_position", .integer(next))]))
        } else {
            if episodes.isEmpty { print("(empty)") }
            episodes.forEach(printEpisode)
            print("(next position \(next))")
        }
    }
}

struct Follow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a namespace's episodes as they commit (one line, or one JSON object, each); reconnects and resumes by itself. Stops after --count episodes, or with Ctrl-C.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The first position (1: the whole retained history).") var from: UInt64 = 1
    @Option(help: "Only this agent; repeatable.") var agent: [String] = []
    @Option(help: "Only this kind; repeatable.") var kind: [UInt16] = []
    @Option(help: "Stop after this many episodes.") var count: Int?

    func run() async throws {
        try await options.run { (client) throws(EngramClientError) in
            var printed = 0
            guard count.map({ $0 > 0 }) ?? true else { return }
            for try await episode in client.follow(namespace: options.resolvedNamespace, from: from, agents: agent, kinds: kind) {
                if options.json { print(episodeJSON(episode)) } else { printEpisode(episode) }
                fflush(nil)
                printed += 1
                if let count, printed >= count { break }
            }
        }
    }
}
