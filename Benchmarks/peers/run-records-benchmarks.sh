#!/usr/bin/env bash
# The records benchmarks with PostgreSQL as the peer, in one run (docs/PERFORMANCE.md, "Records").
#
# Starts a throwaway PostgreSQL 15 cluster in a temporary folder on a free port with fsync on (a
# durable comparison), creates the old schema's leads table and indexes, measures lead INSERTs a
# second with pgbench (16 and 256 clients) and the latency of the triage query on one million
# rows, stops the cluster; then runs `swift package benchmark --target RecordsBenchmarks`.
# Run as root from anywhere: Benchmarks/peers/run-records-benchmarks.sh [seconds per pgbench run]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-30}"
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/pg_ctl" ] || { echo "PostgreSQL 15 is not installed (apt-get install postgresql)" >&2; exit 1; }

work="$(mktemp -d /tmp/engram-pg-XXXXXX)"
chown postgres:postgres "$work"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
stop() {
    runuser -u postgres -- "$bin/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap stop EXIT

runuser -u postgres -- "$bin/initdb" -D "$work/data" --auth=trust --username=postgres -E UTF8 --no-locale >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=300" start >/dev/null
psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1)
pgbench=("$bin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n)

echo "== fdatasync of one 8 KiB write on this disk (pg_test_fsync -s 2): bounds closed-loop writers"
"$bin/pg_test_fsync" -s 2 -f "$work/fsync.test" | grep -E "^ +fdatasync" | head -1
rm -f "$work/fsync.test"

"${psql[@]}" -f "$here/postgres/leads_schema.sql"
echo "== PostgreSQL $("${psql[@]}" -Atc 'show server_version'), fsync $("${psql[@]}" -Atc 'show fsync'), synchronous_commit $("${psql[@]}" -Atc 'show synchronous_commit')"
for clients in 16 256; do
    echo "== pgbench -c $clients -j 2 -T $seconds -f lead_insert.sql"
    "${pgbench[@]}" -c "$clients" -j 2 -T "$seconds" -f "$here/postgres/lead_insert.sql" postgres | grep -E "^(tps|latency average|number of transactions actually processed)"
done

echo "== one million leads, then the query"
"${psql[@]}" -f "$here/postgres/load_million.sql"
echo "rows matching: $("${psql[@]}" -Atc "select count(*) from leads where score > 80 and created_at > now() - interval '24 hours'")"
(cd "$work" && "${pgbench[@]}" -c 1 -j 1 -M prepared -T "$seconds" -l --log-prefix=query -f "$here/postgres/lead_query.sql" postgres | grep -E "^(tps|latency average)")
sort -n -k3,3 "$work"/query.* | awk '{ latency[NR] = $3 } END {
    printf "client-side latency over TCP, %d queries: p50 %d us, p99 %d us, max %d us\n", NR, latency[int(NR * 0.50)], latency[int(NR * 0.99)], latency[NR] }'
for run in $(seq 1 200); do
    "${psql[@]}" -Atc "explain (analyze, timing off) select * from leads where score > 80 and created_at > now() - interval '24 hours' order by score desc, created_at desc limit 100" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p'
done | sort -n | awk '{ time[NR] = $1 * 1000 } END { printf "server-side execution time, %d runs: p50 %d us, p99 %d us\n", NR, time[int(NR * 0.50)], time[int(NR * 0.99)] }'
stop
trap - EXIT

echo "== Engram: swift package benchmark --target RecordsBenchmarks"
cd "$here/.."
swift package --allow-writing-to-package-directory benchmark --target RecordsBenchmarks 2>&1 | grep -v "ETA:"
rm -rf /tmp/engram-bench-1m-leads-v1
