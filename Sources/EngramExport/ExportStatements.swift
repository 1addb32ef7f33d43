/// The SQL around the COPY data, built for one target schema (docs/EXPORT.md, "Full export" and
/// "Incremental export"). Schema names are checked identifiers (`ExportStatements.check`), so they
/// are written into statements without quoting.
struct ExportStatements {
    let schema: String
    var staging: String { schema + "_staging" }

    /// Lower-case letters, digits and underscores, starting with a letter or underscore, at most
    /// 40 bytes (the staging name adds 8 and PostgreSQL allows 63).
    static func check(schema: String) throws(ExportError) {
        let bytes = Array(schema.utf8)
        let valid = !bytes.isEmpty && bytes.count <= 40 && bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        } && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0])
        guard valid, !schema.hasPrefix("pg_"), schema != "information_schema" else {
            throw ExportError(.usage, "schema name \"\(schema)\" must be 1 to 40 lower-case letters, digits and underscores, not starting with a digit or pg_")
        }
    }

    /// Session settings every run starts its transaction with: UTC text for timestamps, quiet
    /// notices, room for the index builds, and a lock wait that ends rather than hangs.
    var begin: [String] {
        [
            "BEGIN",
            "SET LOCAL TIME ZONE 'UTC'",
            "SET LOCAL client_min_messages = warning",
            "SET LOCAL maintenance_work_mem = '256MB'",
            "SET LOCAL lock_timeout = '60s'",
            """
            DO $$ BEGIN
                IF NOT pg_try_advisory_xact_lock(hashtext('engram-export:\(schema)')) THEN
                    RAISE EXCEPTION 'another engram-export is writing schema \(schema)';
                END IF;
            END $$
            """,
        ]
    }

    /// Refuses a schema that exists and is not the export's (so a schema named like the target
    /// but holding someone's tables is never dropped), and a staging schema that is not a
    /// leftover of the export.
    var conflictChecks: [String] {
        [
            """
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '\(schema)')
                   AND coalesce(obj_description((SELECT oid FROM pg_namespace WHERE nspname = '\(schema)'), 'pg_namespace'), '') <> '\(ExportSchema.marker)' THEN
                    RAISE EXCEPTION 'schema \(schema) exists and was not made by engram-export layout \(ExportSchema.layoutVersion); export into another schema or drop it';
                END IF;
                IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '\(staging)')
                   AND coalesce(obj_description((SELECT oid FROM pg_namespace WHERE nspname = '\(staging)'), 'pg_namespace'), '') <> '\(ExportSchema.stagingMarker)' THEN
                    RAISE EXCEPTION 'schema \(staging) exists and is not an engram-export staging schema';
                END IF;
            END $$
            """,
        ]
    }

    /// A full export's first statements: a fresh staging schema with the tables, no keys yet.
    func fullPrologue(leadMonths: [Int64]) -> [String] {
        var statements = begin + conflictChecks
        statements += [
            "DROP SCHEMA IF EXISTS \(staging) CASCADE",
            "CREATE SCHEMA \(staging)",
            "COMMENT ON SCHEMA \(staging) IS '\(ExportSchema.stagingMarker)'",
            "SET LOCAL search_path TO \(staging)",
        ]
        statements += ExportSchema.tables
        statements += leadMonths.sorted().map { ExportSchema.partition(monthStart: $0) }
        return statements
    }

    /// After the COPYs: keys, indexes, the view, statistics, the run's row, and the swap. The
    /// previous schema's runs are carried over so `export_runs` keeps the history.
    func fullEpilogue(run: ExportRunRow) -> [String] {
        var statements = ExportSchema.indexes
        statements.append(ExportSchema.performanceView)
        statements += ExportTable.all.map { "ANALYZE \($0.name)" }
        statements += [
            """
            DO $$ BEGIN
                IF to_regclass('\(schema).export_runs') IS NOT NULL THEN
                    INSERT INTO \(staging).export_runs SELECT * FROM \(schema).export_runs;
                END IF;
            END $$
            """,
            run.insert(into: "\(staging).export_runs"),
            "DROP SCHEMA IF EXISTS \(schema) CASCADE",
            "ALTER SCHEMA \(staging) RENAME TO \(schema)",
            "COMMENT ON SCHEMA \(schema) IS '\(ExportSchema.marker)'",
            "COMMIT",
        ]
        return statements
    }

    /// An incremental export's first statements: the target schema must be the export's.
    var incrementalPrologue: [String] {
        begin + conflictChecks + ["SET LOCAL search_path TO \(schema)"]
    }

    static func upsertTable(_ table: ExportTable) -> String { "engram_upsert_\(table.name)" }
    static func liveTable(_ table: ExportTable) -> String { "engram_live_\(table.name)" }

    /// A temporary table for the rows changed since the last run, dropped at commit.
    static func createUpsertTable(_ table: ExportTable) -> String {
        "CREATE TEMP TABLE \(upsertTable(table)) (LIKE \(table.name)) ON COMMIT DROP"
    }

    /// Applies the changed rows. A lead deleted and created again with the same id may come back
    /// with another `created_at`: its old row is in another partition and goes first.
    static func applyUpserts(_ table: ExportTable) -> [String] {
        let upsert = upsertTable(table)
        var statements: [String] = []
        if table.name == ExportTable.leads.name {
            statements.append("DELETE FROM leads l USING \(upsert) u WHERE l.id = u.id AND l.created_at <> u.created_at")
        }
        let updates = table.columns.filter { !table.keyColumns.contains($0) }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        statements.append("INSERT INTO \(table.name) SELECT * FROM \(upsert) ON CONFLICT (\(table.keyColumns.joined(separator: ", "))) DO UPDATE SET \(updates)")
        return statements
    }

    static func createLiveTable(_ table: ExportTable) -> String {
        if table.keyStream == .episodicRanges {
            return "CREATE TEMP TABLE \(liveTable(table)) (first bigint NOT NULL, last bigint NOT NULL) ON COMMIT DROP"
        }
        return "CREATE TEMP TABLE \(liveTable(table)) (\(table.keyColumn) \(table.keyType) NOT NULL) ON COMMIT DROP"
    }

    static func liveColumns(_ table: ExportTable) -> [String] {
        table.keyStream == .episodicRanges ? ["first", "last"] : [table.keyColumn]
    }

    /// Deletes the rows whose key the snapshot no longer has; answers how many went.
    static func deleteMissing(_ table: ExportTable) -> String {
        let live = liveTable(table)
        if table.keyStream == .episodicRanges {
            return "WITH gone AS (DELETE FROM episodic_events e WHERE NOT EXISTS (SELECT 1 FROM \(live) r WHERE e.position BETWEEN r.first AND r.last) RETURNING 1) SELECT count(*) FROM gone"
        }
        let key = table.keyColumn
        return "WITH gone AS (DELETE FROM \(table.name) t WHERE NOT EXISTS (SELECT 1 FROM \(live) k WHERE k.\(key) = t.\(key)) RETURNING 1) SELECT count(*) FROM gone"
    }
}

/// One row of `export_runs`.
struct ExportRunRow {
    var kind: String
    var namespace: String
    var server: String
    var lsn: UInt64
    var version: UInt64
    var episodicPosition: UInt64
    var sinceVersion: UInt64?
    var sinceEpisodicPosition: UInt64?
    var startedAtMicroseconds: Int64
    /// Rows per table in `ExportTable.all` order, or nil to count them in the statement.
    var tableRowCounts: [Int64]?
    var rowsWritten: Int64
    var rowsDeleted: Int64

    func insert(into table: String) -> String {
        let counts = tableRowCounts.map { $0.map(String.init) } ?? ExportTable.all.map { "(SELECT count(*) FROM \($0.name))" }
        let values: [String] = [
            "(SELECT coalesce(max(run_id), 0) + 1 FROM \(table))",
            "'\(kind)'", Self.literal(namespace), Self.literal(server),
            "\(lsn)", "\(version)", "\(episodicPosition)",
            sinceVersion.map { "\($0)" } ?? "NULL", sinceEpisodicPosition.map { "\($0)" } ?? "NULL",
            "to_timestamp(\(startedAtMicroseconds) / 1000000.0)", "clock_timestamp()",
        ] + counts + ["\(rowsWritten)", "\(rowsDeleted)"]
        return "INSERT INTO \(table) VALUES (\(values.joined(separator: ", ")))"
    }

    /// A string literal, single quotes doubled (standard_conforming_strings is on since 9.1).
    static func literal(_ text: String) -> String {
        "'" + text.replacing("'", with: "''") + "'"
    }
}
