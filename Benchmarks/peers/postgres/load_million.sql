-- One million leads created uniformly over the last 30 days, scores uniform over 0...100: the
-- same distribution as the Engram benchmark's fixture.
TRUNCATE leads;
INSERT INTO leads (id, email, name, company, source, category, score, status, metadata, created_at, updated_at)
SELECT gen_random_uuid(), 'lead' || g || '@example.com', 'Lead ' || g, 'Company ' || (g % 1000),
       (ARRAY['web', 'ads', 'referral', 'event', 'partner'])[1 + floor(random() * 5)::int],
       (ARRAY['b2b', 'b2c', 'partner'])[1 + floor(random() * 3)::int],
       floor(random() * 101)::int,
       (ARRAY['new', 'contacted', 'qualified', 'converted', 'lost'])[1 + floor(random() * 5)::int],
       '{"utm_source":"google","pages":3}', now() - random() * interval '30 days', now()
FROM generate_series(1, 1000000) AS g;
VACUUM ANALYZE leads;
