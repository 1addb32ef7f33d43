import EngramStorage
import FoundationEssentials
import Logging
import NIOPosix
import PostgresNIO

/// The old system's two queries, answered by PostgreSQL after an export and by Engram itself,
/// each row as one canonical line of text so the two answers compare exactly.
enum Answers {
    static let logger = Logger(label: "export-test")

    /// "Score above 80 in the last 24 hours", as the old system ran it.
    static let hotLeadsQuery = """
        SELECT id::text, email, coalesce(name, ''), coalesce(company, ''), coalesce(source, ''), coalesce(category, ''),
               score, status, coalesce(metadata::text, ''),
               (extract(epoch from created_at) * 1000000)::bigint, (extract(epoch from updated_at) * 1000000)::bigint
        FROM (SELECT * FROM leads WHERE score > 80 AND created_at > NOW() - INTERVAL '24 hours') AS hot
        """

    static let summaryQuery = """
        SELECT campaign_id::text, name, type, status, total_sent, total_opened, total_clicked, total_converted,
               avg_open_rate, avg_click_rate, avg_conversion_rate
        FROM campaign_performance_summary
        """

    static func connect(_ settings: PostgresSettingsLike, database: String? = nil) async throws -> PostgresConnection {
        let configuration = PostgresConnection.Configuration(host: settings.host, port: settings.port, username: "postgres", password: nil, database: database ?? "postgres", tls: .disable)
        return try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 7, logger: logger)
    }

    /// PostgreSQL's answer to the hot-leads query in `schema`, sorted.
    static func hotLeads(_ connection: PostgresConnection, schema: String) async throws -> [String] {
        _ = try await connection.query("SET search_path TO \(unescaped: schema)", logger: logger).collect()
        var lines: [String] = []
        let rows = try await connection.query(PostgresQuery(unsafeSQL: hotLeadsQuery), logger: logger)
        for try await row in rows {
            let (id, email, name, company, source, category, score, status, metadata, created, updated) = try row.decode((String, String, String, String, String, String, Int, String, String, Int64, Int64).self)
            lines.append([id.uppercased(), email, name, company, source, category, "\(score)", status, metadata, "\(created)", "\(updated)"].joined(separator: "|"))
        }
        return lines.sorted()
    }

    /// Engram's answer: the lead query (score at least 81, created at or after now - 24 h), all
    /// pages, with each metadata document normalised by PostgreSQL's jsonb as the export's is.
    static func hotLeads(_ store: EngramStore, namespace: Namespace, now: Int64, normaliser: PostgresConnection) async throws -> [String] {
        var lines: [String] = []
        var cursor: LeadCursor?
        var normalised: [[UInt8]: String] = [:]
        repeat {
            let page = try store.leadQuery(namespace: namespace, LeadQuery(scoreMin: 81, createdAtOrAfterMicroseconds: now - DataSet.day, limit: 1_000, cursor: cursor))
            for lead in page.leads {
                if lead.metadata.isEmpty {
                    normalised[lead.metadata] = ""
                } else if normalised[lead.metadata] == nil {
                    let text = String(decoding: lead.metadata, as: UTF8.self)
                    let rows = try await normaliser.query("SELECT \(text)::jsonb::text", logger: logger)
                    for try await value in rows.decode(String.self) { normalised[lead.metadata] = value }
                }
                lines.append([lead.id.uuidString, lead.email, lead.name, lead.company, lead.source, lead.category, "\(lead.score)", lead.status,
                              normalised[lead.metadata] ?? "?", "\(lead.createdAtMicroseconds)", "\(lead.updatedAtMicroseconds)"].joined(separator: "|"))
            }
            cursor = page.next
        } while cursor != nil
        return lines.sorted()
    }

    /// PostgreSQL's campaign performance summary in `schema`, sorted.
    static func summary(_ connection: PostgresConnection, schema: String) async throws -> [String] {
        _ = try await connection.query("SET search_path TO \(unescaped: schema)", logger: logger).collect()
        var lines: [String] = []
        let rows = try await connection.query(PostgresQuery(unsafeSQL: summaryQuery), logger: logger)
        for try await row in rows {
            let (id, name, type, status, sent, opened, clicked, converted, openRate, clickRate, conversionRate) = try row.decode((String, String, String, String, Int64, Int64, Int64, Int64, Double, Double, Double).self)
            lines.append([id.uppercased(), name, type, status, "\(sent)", "\(opened)", "\(clicked)", "\(converted)", "\(openRate)", "\(clickRate)", "\(conversionRate)"].joined(separator: "|"))
        }
        return lines.sorted()
    }

    /// Engram's live summary of every campaign.
    static func summary(_ store: EngramStore, namespace: Namespace, campaigns: [UUID]) throws -> [String] {
        var lines: [String] = []
        for id in campaigns {
            guard let performance = try store.campaignPerformance(namespace: namespace, id: id) else { continue }
            let campaign = performance.campaign
            let totals = performance.totals
            lines.append([campaign.id.uuidString, campaign.name, campaign.type, campaign.status.description, "\(totals.sent)", "\(totals.opened)",
                          "\(totals.clicked)", "\(totals.converted)", "\(totals.openRate)", "\(totals.clickRate)", "\(totals.conversionRate)"].joined(separator: "|"))
        }
        return lines.sorted()
    }

    /// Every row of every exported table in `schema`, as text, in a stable order: two schemas
    /// hold the same data exactly when these are equal.
    static func tableContents(_ connection: PostgresConnection, schema: String) async throws -> [String: [String]] {
        var contents: [String: [String]] = [:]
        for (table, key) in [("leads", "id"), ("campaigns", "id"), ("campaign_metrics", "id"), ("long_term_memory", "key"), ("semantic_memory", "id"), ("episodic_events", "position")] {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \(schema).\(table) t ORDER BY \(key)"), logger: logger)
            var lines: [String] = []
            for try await line in rows.decode(String.self) { lines.append(line) }
            contents[table] = lines
        }
        return contents
    }

    /// Runs one statement that answers no rows the test reads (BEGIN, ROLLBACK, LOCK).
    static func execute(_ connection: PostgresConnection, _ sql: String) async throws {
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    static func integer(_ connection: PostgresConnection, _ sql: String) async throws -> Int64 {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        throw TestFailure("no row from \(sql)")
    }
}

/// Host and port of a PostgreSQL the tests reach.
protocol PostgresSettingsLike {
    var host: String { get }
    var port: Int { get }
}

import EngramExport
extension PostgresSettings: PostgresSettingsLike {}
