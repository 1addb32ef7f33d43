-- The leads table of the old SQL schema (issue 6): partitioned by month on created_at, with the
-- score/created_at and status indexes. A partitioned table's primary key must include the
-- partition key, hence (id, created_at).
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
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- One partition per month from two months back to next month, and a default one.
DO $$
DECLARE
    month date := date_trunc('month', now() - interval '62 days');
BEGIN
    WHILE month <= date_trunc('month', now() + interval '31 days') LOOP
        EXECUTE format('CREATE TABLE leads_%s PARTITION OF leads FOR VALUES FROM (%L) TO (%L)',
                       to_char(month, 'YYYY_MM'), month, month + interval '1 month');
        month := month + interval '1 month';
    END LOOP;
END $$;
CREATE TABLE leads_default PARTITION OF leads DEFAULT;

CREATE INDEX leads_score_created ON leads (score DESC, created_at DESC) WHERE score > 50;
CREATE INDEX leads_status_score ON leads (status, score DESC, created_at DESC) INCLUDE (name, email, company);
