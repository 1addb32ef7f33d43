-- "Score above 80 in the last 24 hours", best first, limit 100: the triage agents' query.
SELECT * FROM leads WHERE score > 80 AND created_at > now() - interval '24 hours'
ORDER BY score DESC, created_at DESC LIMIT 100;
