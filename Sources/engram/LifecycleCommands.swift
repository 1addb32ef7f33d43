import ArgumentParser
import EngramClient
import EngramProtocol

/// `consolidate`, `erase-namespace`, `erase-lead` and `engagement` (docs/PROTOCOL.md,
/// "Lifecycle"). An erase runs to its end on the server even if this command times out; run it
/// again to wait for the end (it carries on where it is). Erases wait 600 s by default.
struct ConsolidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consolidate", abstract: "Run one consolidation pass now and print what it did (needs an admin grant).")
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run { (client) throws(EngramClientError) in
            let report = try await client.consolidate()
            var fields: [(String, JSON)] = [
                ("expired_items", .integer(report.expiredItemCount)), ("folded_events", .integer(report.foldedEventCount)),
                ("updated_leads", .integer(report.updatedLeadCount)), ("trimmed_segments", .integer(report.trimmedSegmentCount)),
                ("commands", .integer(report.commandCount)), ("longest_command_us", .integer(report.longestCommandMicroseconds)),
                ("elapsed_us", .integer(report.elapsedMicroseconds)), ("more_work_remains", .bool(report.moreWorkRemains)),
            ]
            if let erasure = report.erasure { fields.append(("erasure", .object(erasureFields(erasure)))) }
            printFields(fields, options)
        }
    }
}

struct EraseNamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "erase-namespace", abstract: "Erase every trace of the namespace (-n) from every tier, durably (needs admin on it).")
    @OptionGroup var options: ConnectionOptions
    @Flag(help: "Confirm: the namespace's data is gone for good.") var yes = false

    func run() async throws {
        guard yes else { throw ValidationError("erase-namespace removes every trace of \(options.resolvedNamespace); add --yes to confirm") }
        try await options.run { (client) throws(EngramClientError) in
            printFields(erasureFields(try await client.eraseNamespace(options.resolvedNamespace)), options)
        }
    }
}

struct EraseLeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "erase-lead", abstract: "Erase a lead: its record, index entries, engagement summary and episodes (needs write).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The lead id.") var id: String

    func run() async throws {
        let leadID = try uuid(id, "the lead id")
        try await options.run { (client) throws(EngramClientError) in
            printFields(erasureFields(try await client.eraseLead(namespace: options.resolvedNamespace, id: leadID)), options)
        }
    }
}

struct EngagementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engagement", abstract: "A lead's engagement summary as of the last consolidation pass (exit 1 when it has none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The lead id.") var id: String

    func run() async throws {
        let leadID = try uuid(id, "the lead id")
        var found: WireLeadEngagement?
        try await options.run { (client) throws(EngramClientError) in found = try await client.leadEngagement(namespace: options.resolvedNamespace, id: leadID) }
        guard let found else { try notFound(options, id) }
        let channels = ["none", "email", "web"]
        printFields([
            ("touches", .integer(found.touches)), ("opens", .integer(found.opens)), ("clicks", .integer(found.clicks)),
            ("conversions", .integer(found.conversions)), ("last_contact_us", .string(String(found.lastContactMicroseconds))),
            ("last_channel", .string(Int(found.lastChannel) < channels.count ? channels[Int(found.lastChannel)] : String(found.lastChannel))),
            ("last_position", .integer(found.lastPosition)),
        ], options)
    }
}

func erasureFields(_ report: WireErasureReport) -> [(String, JSON)] {
    [
        ("deleted_keys", .integer(report.deletedKeyCount)), ("deleted_lead_records", .integer(report.deletedLeadRecordCount)),
        ("rewritten_segments", .integer(report.rewrittenSegmentCount)), ("dropped_episodes", .integer(report.droppedEpisodeCount)),
        ("dropped_damaged_blocks", .integer(report.droppedDamagedBlockCount)), ("rekeyed_index_entries", .integer(report.rekeyedIndexEntryCount)),
        ("finished_namespaces", .integer(report.finishedNamespaceCount)), ("finished_leads", .integer(report.finishedLeadCount)),
        ("commands", .integer(report.commandCount)), ("longest_command_us", .integer(report.longestCommandMicroseconds)),
        ("elapsed_us", .integer(report.elapsedMicroseconds)), ("complete", .bool(report.isComplete)),
    ]
}

/// One `name: value` line per field, or one JSON object.
func printFields(_ fields: [(String, JSON)], _ options: ConnectionOptions) {
    if options.json {
        print(JSON.object(fields))
    } else {
        for (name, value) in fields { print("\(name): \(value)") }
    }
}
