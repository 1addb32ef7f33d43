import ArgumentParser
import EngramClient
import EngramProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Microseconds since 1970 now.
func nowMicroseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000
}

func leadJSON(_ lead: WireLead) -> JSON {
    .object([
        ("id", .string(lead.id.description)), ("version", .integer(lead.version)), ("email", .string(lead.email)),
        ("name", .string(lead.name)), ("company", .string(lead.company)), ("source", .string(lead.source)),
        ("category", .string(lead.category)), ("score", .integer(UInt64(lead.score))), ("status", .string(lead.status)),
        ("metadata", lead.metadata.isEmpty ? .null : .string(String(decoding: lead.metadata, as: UTF8.self))),
        ("created_at", .string(isoTime(lead.createdAtMicroseconds))), ("updated_at", .string(isoTime(lead.updatedAtMicroseconds))),
    ])
}

func printLead(_ lead: WireLead) {
    print("\(lead.id) \(lead.email) score \(lead.score) \(lead.status) (version \(lead.version))")
    let details = [("name", lead.name), ("company", lead.company), ("source", lead.source), ("category", lead.category)].filter { !$0.1.isEmpty }
    if !details.isEmpty { print("  " + details.map { "\($0.0): \($0.1)" }.joined(separator: ", ")) }
    if !lead.metadata.isEmpty { print("  metadata: \(String(decoding: lead.metadata, as: UTF8.self))") }
    print("  created \(isoTime(lead.createdAtMicroseconds)), updated \(isoTime(lead.updatedAtMicroseconds))")
}

func campaignJSON(_ campaign: WireCampaign) -> JSON {
    .object([
        ("id", .string(campaign.id.description)), ("version", .integer(campaign.version)), ("name", .string(campaign.name)),
        ("type", .string(campaign.type)), ("status", .string(campaign.status.description)), ("budget_cents", .integer(UInt64(max(0, campaign.budgetCents)))),
        ("created_at", .string(isoTime(campaign.createdAtMicroseconds))), ("updated_at", .string(isoTime(campaign.updatedAtMicroseconds))),
    ])
}

func totalsJSON(_ totals: WireTotals) -> [(String, JSON)] {
    [("events", .integer(totals.eventCount)), ("sent", .integer(totals.sent)), ("opened", .integer(totals.opened)),
     ("clicked", .integer(totals.clicked)), ("converted", .integer(totals.converted)), ("open_rate", .number(totals.openRate)),
     ("click_rate", .number(totals.clickRate)), ("conversion_rate", .number(totals.conversionRate))]
}

func totalsLine(_ totals: WireTotals) -> String {
    func percent(_ rate: Double) -> String { formatted(rate * 100) + " %" }
    return "\(totals.eventCount) events: sent \(totals.sent), opened \(totals.opened) (\(percent(totals.openRate))), clicked \(totals.clicked) (\(percent(totals.clickRate))), converted \(totals.converted) (\(percent(totals.conversionRate)))"
}

func printCampaign(_ campaign: WireCampaign) {
    print("\(campaign.id) \(campaign.name) [\(campaign.type), \(campaign.status)] budget \(campaign.budgetCents / 100).\(String(format2: campaign.budgetCents % 100)) (version \(campaign.version))")
}

extension String {
    init(format2 value: Int64) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}

struct LeadUpsertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lead-upsert", abstract: "Insert or replace a lead; prints it as stored.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The lead id (a UUID); a random one when absent.") var id: String?
    @Option(help: "The email, unique in the namespace (ASCII case-folded).") var email: String
    @Option(help: "Score, 0 to 100.") var score: UInt8
    @Option(help: "Status label.") var status: String = "new"
    @Option var name: String = ""
    @Option var company: String = ""
    @Option var source: String = ""
    @Option var category: String = ""
    @Option(help: "A JSON text.") var metadata: String?
    @Option(help: "Creation time, microseconds since 1970 (new leads only; default now).") var createdAt: Int64?

    func run() async throws {
        let lead = WireLead(id: try id.map { try uuid($0, "--id") } ?? FactID.random(), email: email, name: name, company: company, source: source, category: category, score: score, status: status, metadata: Array((metadata ?? "").utf8), createdAtMicroseconds: createdAt ?? WireLead.createdAtUnset)
        try await options.run { (client) throws(EngramClientError) in
            let stored = try await client.leadUpsert(namespace: options.resolvedNamespace, lead: lead)
            if options.json { print(leadJSON(stored)) } else { printLead(stored) }
        }
    }
}

struct LeadGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lead-get", abstract: "Print a lead by id or by --email (exit 1 when there is none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The lead id.") var id: String?
    @Option(help: "Find the lead by email instead.") var email: String?

    func run() async throws {
        guard (id == nil) != (email == nil) else { throw ValidationError("give a lead id or --email, not both") }
        let leadID = try id.map { try uuid($0, "the lead id") }
        var found: WireLead?
        try await options.run { (client) throws(EngramClientError) in
            if let leadID { found = try await client.leadGet(namespace: options.resolvedNamespace, id: leadID) } else { found = try await client.leadGet(namespace: options.resolvedNamespace, email: email!) }
        }
        guard let found else { try notFound(options, id ?? email!) }
        if options.json { print(leadJSON(found)) } else { printLead(found) }
    }
}

struct LeadDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lead-delete", abstract: "Delete a lead (exit 1 when there was none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The lead id.") var id: String

    func run() async throws {
        let leadID = try uuid(id, "the lead id")
        var existed = false
        try await options.run { (client) throws(EngramClientError) in existed = try await client.leadDelete(namespace: options.resolvedNamespace, id: leadID) }
        guard existed else { try notFound(options, id) }
        printDeleted("id", id, options)
    }
}

struct LeadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leads", abstract: "Query leads: score at least --score-min, created since --since, optional --status and --source, best or newest first.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "Lowest score.") var scoreMin: UInt8 = 0
    @Option(help: "Created at or after, microseconds since 1970 (0: any time).") var since: Int64 = 0
    @Option var status: String?
    @Option var source: String?
    @Flag(help: "Newest first (default: best score first, then newest).") var newest = false
    @Option(help: "Most leads to print.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        var leads: [WireLead] = []
        try await options.run { (client) throws(EngramClientError) in
            var cursor: [UInt8]? = nil
            repeat {
                let page = try await client.leadQuery(namespace: options.resolvedNamespace, WireLeadQuery(scoreMin: scoreMin, createdAtOrAfterMicroseconds: since, status: status, source: source, order: newest ? .newest : .scoreThenNewest, limit: UInt32(limit - leads.count), cursor: cursor))
                leads += page.leads
                cursor = page.cursor
            } while cursor != nil && leads.count < limit
        }
        if options.json { print(JSON.array(leads.map(leadJSON))) } else if leads.isEmpty { print("(empty)") } else { leads.forEach(printLead) }
    }
}

struct CampaignUpsertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaign-upsert", abstract: "Insert or replace a campaign; prints it as stored.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The campaign id (a UUID); a random one when absent.") var id: String?
    @Option var name: String
    @Option(help: "email, social, ads, ...") var type: String = "email"
    @Option(help: "draft, active, paused or completed.") var status: String = "draft"
    @Option var budgetCents: Int64 = 0

    func run() async throws {
        guard let wireStatus = WireCampaignStatus(name: status) else { throw ValidationError("--status \(status) is not draft, active, paused or completed") }
        let campaign = WireCampaign(id: try id.map { try uuid($0, "--id") } ?? FactID.random(), name: name, type: type, status: wireStatus, budgetCents: budgetCents)
        try await options.run { (client) throws(EngramClientError) in
            let stored = try await client.campaignUpsert(namespace: options.resolvedNamespace, campaign: campaign)
            if options.json { print(campaignJSON(stored)) } else { printCampaign(stored) }
        }
    }
}

struct CampaignGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaign-get", abstract: "Print a campaign (exit 1 when there is none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The campaign id.") var id: String

    func run() async throws {
        let campaignID = try uuid(id, "the campaign id")
        var found: WireCampaign?
        try await options.run { (client) throws(EngramClientError) in found = try await client.campaignGet(namespace: options.resolvedNamespace, id: campaignID) }
        guard let found else { try notFound(options, id) }
        if options.json { print(campaignJSON(found)) } else { printCampaign(found) }
    }
}

struct CampaignDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaign-delete", abstract: "Delete a campaign with its metrics (exit 1 when there was none).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The campaign id.") var id: String

    func run() async throws {
        let campaignID = try uuid(id, "the campaign id")
        var existed = false
        try await options.run { (client) throws(EngramClientError) in existed = try await client.campaignDelete(namespace: options.resolvedNamespace, id: campaignID) }
        guard existed else { try notFound(options, id) }
        printDeleted("id", id, options)
    }
}

struct CampaignsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaigns", abstract: "List campaigns by status and type.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "draft, active, paused or completed.") var status: String?
    @Option var type: String?
    @Option(help: "Most campaigns to print.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        let wireStatus = try status.map { name in
            guard let value = WireCampaignStatus(name: name) else { throw ValidationError("--status \(name) is not draft, active, paused or completed") }
            return value
        }
        var campaigns: [WireCampaign] = []
        try await options.run { (client) throws(EngramClientError) in
            var after: WireCampaignCursor? = nil
            repeat {
                let page = try await client.campaignQuery(namespace: options.resolvedNamespace, status: wireStatus, type: type, after: after, limit: limit - campaigns.count)
                campaigns += page.campaigns
                after = page.next
            } while after != nil && campaigns.count < limit
        }
        if options.json { print(JSON.array(campaigns.map(campaignJSON))) } else if campaigns.isEmpty { print("(empty)") } else { campaigns.forEach(printCampaign) }
    }
}

struct MetricAppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metric-append", abstract: "Record a campaign metric event; prints its sequence.")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The campaign id.") var campaign: String
    @Option var sent: UInt32 = 0
    @Option var opened: UInt32 = 0
    @Option var clicked: UInt32 = 0
    @Option var converted: UInt32 = 0
    @Option(help: "When it was observed, microseconds since 1970 (default now).") var time: Int64?

    func run() async throws {
        let event = WireMetricEvent(campaignID: try uuid(campaign, "the campaign id"), timeMicroseconds: time ?? nowMicroseconds(), sent: sent, opened: opened, clicked: clicked, converted: converted)
        try await options.run { (client) throws(EngramClientError) in
            let sequence = try await client.metricAppend(namespace: options.resolvedNamespace, events: [event])[0]
            print(options.json ? JSON.object([("sequence", .integer(sequence))]).description : "OK (sequence \(sequence))")
        }
    }
}

struct CampaignSummaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaign-summary", abstract: "A campaign's live performance: sent, opened, clicked, converted and the rates (exit 1 when there is no such campaign).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The campaign id.") var id: String

    func run() async throws {
        let campaignID = try uuid(id, "the campaign id")
        var found: WireCampaignSummary?
        try await options.run { (client) throws(EngramClientError) in found = try await client.campaignSummary(namespace: options.resolvedNamespace, id: campaignID) }
        guard let found else { try notFound(options, id) }
        if options.json {
            print(JSON.object([("campaign", campaignJSON(found.campaign))] + totalsJSON(found.totals)))
        } else {
            printCampaign(found.campaign)
            print("  " + totalsLine(found.totals))
        }
    }
}

struct ActiveSummariesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "active-summaries", abstract: "Every active campaign with its live performance.")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "Most campaigns to print.") var limit: Int = 100

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        var summaries: [WireCampaignSummary] = []
        try await options.run { (client) throws(EngramClientError) in
            var after: WireCampaignCursor? = nil
            repeat {
                let page = try await client.activeCampaignSummaries(namespace: options.resolvedNamespace, after: after, limit: limit - summaries.count)
                summaries += page.summaries
                after = page.next
            } while after != nil && summaries.count < limit
        }
        if options.json {
            print(JSON.array(summaries.map { JSON.object([("campaign", campaignJSON($0.campaign))] + totalsJSON($0.totals)) }))
        } else if summaries.isEmpty {
            print("(empty)")
        } else {
            for summary in summaries {
                printCampaign(summary.campaign)
                print("  " + totalsLine(summary.totals))
            }
        }
    }
}

struct HourlyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hourly", abstract: "A campaign's hourly series (hours with events only).")
    @OptionGroup var options: ConnectionOptions
    @Argument(help: "The campaign id.") var campaign: String
    @Option(help: "From, microseconds since 1970.") var from: Int64 = 0
    @Option(help: "To, microseconds since 1970.") var to: Int64 = .max
    @Option(help: "Most hours to print.") var limit: Int = 1_000

    func run() async throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        let campaignID = try uuid(campaign, "the campaign id")
        var buckets: [WireHourlyBucket] = []
        try await options.run { (client) throws(EngramClientError) in
            var start: Int64? = from
            while let current = start, buckets.count < limit {
                let page = try await client.campaignHourly(namespace: options.resolvedNamespace, id: campaignID, fromMicroseconds: current, toMicroseconds: to, limit: limit - buckets.count)
                buckets += page.buckets
                start = page.resumeFromMicroseconds
            }
        }
        if options.json {
            print(JSON.array(buckets.map { JSON.object([("hour", .string(isoTime($0.hourStartMicroseconds)))] + totalsJSON($0.totals)) }))
        } else if buckets.isEmpty {
            print("(empty)")
        } else {
            for bucket in buckets { print("\(isoTime(bucket.hourStartMicroseconds)) \(totalsLine(bucket.totals))") }
        }
    }
}
