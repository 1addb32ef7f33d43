/// The PostgreSQL schema the export writes (docs/EXPORT.md, "The schema"). Every statement is unqualified: the export runs them with `search_path` set
/// to the schema being built.
enum ExportSchema {
    /// Written as the comment of a schema the export made; a schema with another comment is not
    /// the export's and is never dropped. The number is the layout version below: a schema of
    /// another layout is refused, not silently mixed.
    static let layoutVersion = 1
    static let marker = "engram-export layout 1"
    static let stagingMarker = "engram-export layout 1 staging"

    /// The leads table of the old schema, partitioned by month of `created_at`. PostgreSQL wants
    /// the partition key in every unique index of a partitioned table, so the primary key is
    /// `(id, created_at)`; Engram never changes a lead's `created_at`, so an id has one row.
    static let leads = """
        CREATE TABLE leads (
            id uuid NOT NULL,
            email text NOT NULL,
            name text,
            company text,
            source text,
            category text,
            score integer NOT NULL CHECK (score BETWEEN 0 AND 100),
            status text NOT NULL,
            metadata jsonb,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        ) PARTITION BY RANGE (created_at);
        """

    static let campaigns = """
        CREATE TABLE campaigns (
            id uuid NOT NULL,
            name text NOT NULL,
            type text NOT NULL,
            status text NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'completed')),
            budget numeric(20,2) NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL
        );
        """

    static let campaignMetrics = """
        CREATE TABLE campaign_metrics (
            id bigint NOT NULL,
            campaign_id uuid NOT NULL,
            recorded_at timestamptz NOT NULL,
            sent bigint NOT NULL,
            opened bigint NOT NULL,
            clicked bigint NOT NULL,
            converted bigint NOT NULL
        );
        """

    static let longTermMemory = """
        CREATE TABLE long_term_memory (
            key bytea NOT NULL,
            version bigint NOT NULL,
            value bytea NOT NULL
        );
        """

    static let semanticMemory = """
        CREATE TABLE semantic_memory (
            id uuid NOT NULL,
            version bigint NOT NULL,
            tags text[] NOT NULL,
            embedding real[],
            body bytea NOT NULL
        );
        """

    static let episodicEvents = """
        CREATE TABLE episodic_events (
            position bigint NOT NULL,
            agent text NOT NULL,
            sequence bigint NOT NULL,
            occurred_at timestamptz NOT NULL,
            kind integer NOT NULL,
            lead_id uuid,
            campaign_id uuid,
            body bytea NOT NULL
        );
        """

    static let exportRuns = """
        CREATE TABLE export_runs (
            run_id bigint PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('full', 'incremental')),
            namespace text NOT NULL,
            server text NOT NULL,
            snapshot_lsn bigint NOT NULL,
            snapshot_version bigint NOT NULL,
            episodic_position bigint NOT NULL,
            since_version bigint,
            since_episodic_position bigint,
            started_at timestamptz NOT NULL,
            finished_at timestamptz NOT NULL,
            leads bigint NOT NULL,
            campaigns bigint NOT NULL,
            campaign_metrics bigint NOT NULL,
            long_term_memory bigint NOT NULL,
            semantic_memory bigint NOT NULL,
            episodic_events bigint NOT NULL,
            rows_written bigint NOT NULL,
            rows_deleted bigint NOT NULL
        );
        """

    static let tables = [leads, campaigns, campaignMetrics, longTermMemory, semanticMemory, episodicEvents, exportRuns]

    /// Keys and indexes, built after the load: one sorted build is faster than keeping them up
    /// to date row by row.
    static let indexes = [
        "ALTER TABLE leads ADD PRIMARY KEY (id, created_at);",
        "CREATE INDEX leads_score_created ON leads (score DESC, created_at DESC) WHERE score > 50;",
        "CREATE INDEX leads_status_score ON leads (status, score DESC, created_at DESC) INCLUDE (name, email, company);",
        "ALTER TABLE campaigns ADD PRIMARY KEY (id);",
        "CREATE INDEX campaigns_status_type ON campaigns (status, type);",
        "ALTER TABLE campaign_metrics ADD PRIMARY KEY (id);",
        "CREATE INDEX campaign_metrics_campaign ON campaign_metrics (campaign_id, recorded_at);",
        "ALTER TABLE long_term_memory ADD PRIMARY KEY (key);",
        "ALTER TABLE semantic_memory ADD PRIMARY KEY (id);",
        "ALTER TABLE episodic_events ADD PRIMARY KEY (position);",
        "CREATE INDEX episodic_events_agent ON episodic_events (agent, sequence);",
    ]

    /// The live summary Engram keeps, as SQL users query it. The rates are ratios of the totals,
    /// as Engram computes them (docs/RECORDS.md, "Totals"): an average of per-event rates would let
    /// a one-message event weigh as much as a large one.
    static let performanceView = """
        CREATE VIEW campaign_performance_summary AS
        SELECT c.id AS campaign_id,
               c.name,
               c.type,
               c.status,
               coalesce(sum(m.sent), 0)::bigint AS total_sent,
               coalesce(sum(m.opened), 0)::bigint AS total_opened,
               coalesce(sum(m.clicked), 0)::bigint AS total_clicked,
               coalesce(sum(m.converted), 0)::bigint AS total_converted,
               CASE WHEN coalesce(sum(m.sent), 0) = 0 THEN 0::float8
                    ELSE sum(m.opened)::float8 / sum(m.sent)::float8 END AS avg_open_rate,
               CASE WHEN coalesce(sum(m.sent), 0) = 0 THEN 0::float8
                    ELSE sum(m.clicked)::float8 / sum(m.sent)::float8 END AS avg_click_rate,
               CASE WHEN coalesce(sum(m.sent), 0) = 0 THEN 0::float8
                    ELSE sum(m.converted)::float8 / sum(m.sent)::float8 END AS avg_conversion_rate
        FROM campaigns c
        LEFT JOIN campaign_metrics m ON m.campaign_id = c.id
        GROUP BY c.id, c.name, c.type, c.status;
        """

    /// The partition of `leads` for the UTC month starting at `monthStart` (microseconds).
    static func partition(monthStart: Int64, ifNotExists: Bool = false) -> String {
        let next = UTCCalendarText.month(nextMonthOf: monthStart)
        let this = UTCCalendarText.month(monthStart)
        return "CREATE TABLE \(ifNotExists ? "IF NOT EXISTS " : "")leads_\(this.name) PARTITION OF leads FOR VALUES FROM ('\(this.bound)') TO ('\(next.bound)');"
    }
}

import EngramStorage

/// Month names and bounds for partitions: `2026_11` and `2026-11-01 00:00:00+00`.
enum UTCCalendarText {
    static func month(_ monthStart: Int64) -> (name: String, bound: String) {
        let date = UTCCalendar.civil(fromDays: UTCCalendar.floorDivide(monthStart, UTCCalendar.microsecondsPerDay))
        let year = String(date.year)
        let month = date.month < 10 ? "0\(date.month)" : "\(date.month)"
        return ("\(year)_\(month)", "\(year)-\(month)-01 00:00:00+00")
    }

    static func month(nextMonthOf monthStart: Int64) -> (name: String, bound: String) {
        month(UTCCalendar.nextMonthStart(monthStart))
    }
}
