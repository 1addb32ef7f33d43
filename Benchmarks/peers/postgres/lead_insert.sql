-- One lead INSERT per transaction (autocommit), as the old system's API did; about the same
-- fields and sizes as the Engram benchmark's leads.
\set n random(1, 2000000000)
\set score random(0, 100)
INSERT INTO leads (id, email, name, company, source, category, score, status, metadata)
VALUES (gen_random_uuid(), 'lead' || :n || '@example.com', 'Lead ' || :n, 'Company ' || (:n % 1000),
        (ARRAY['web', 'ads', 'referral', 'event', 'partner'])[1 + :n % 5], 'b2b', :score,
        (ARRAY['new', 'contacted', 'qualified', 'converted', 'lost'])[1 + :n % 5],
        '{"utm_source":"google","pages":3}');
