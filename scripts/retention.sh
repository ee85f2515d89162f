#!/usr/bin/env bash
# Retention under load: PostgreSQL holding EVENTS (default 1,000,000) events past the
# retention period; scim-bench's licensed creates and Entra-shaped PATCHes (16 clients)
# against the release server keeping every event (a warm-up run, then "before"), then
# against a server pruning them ("during": every serve process prunes when it starts).
# Prints the writers' p50/p99 of both runs and how long the prune took.
# Usage: scripts/retention.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
cargo build -q --release --locked -p scim-server -p scim-bench
target="${CARGO_TARGET_DIR:-target}"
server="$target/release/scim-server"
bench="$target/release/scim-bench"
export SCIM_SECRET_KEYS="${SCIM_SECRET_KEYS:-$("$server" secret-key generate | tail -n1)}"
work="$(mktemp -d)"
base="${SCIM_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
name="scim_retention_$$"
psql "$base/postgres" -qc "CREATE DATABASE $name" >/dev/null
db="$base/$name"
cleanup() {
    kill "${server_pid:-0}" 2>/dev/null || true
    wait "${server_pid:-0}" 2>/dev/null || true
    psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $name" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$server" --database-url "$db" tenant create load >/dev/null
"$server" --database-url "$db" license set --tenant load --sku pro --seats 10000000 >/dev/null
token="$("$server" --database-url "$db" token issue --tenant load | tail -n1)"
# EVENTS events recorded 40 days ago, as a month of provisioning leaves them.
old="$(( ($(date +%s) - 40 * 86400) * 1000000 ))"
psql "$db" -qc "INSERT INTO outbox (tenant_id, at, subject, events, actor, cause)
    SELECT t.id, $old + g, '/Users/old-' || g,
           '{\"urn:ietf:params:scim:event:prov:create:full\":{\"data\":{\"userName\":\"old\"}}}',
           'token:load', 'load'
    FROM tenants t, generate_series(1, $events) g WHERE t.slug = 'load'" >/dev/null
psql "$db" -qc "VACUUM ANALYZE" >/dev/null
source scripts/start-server.sh
run() {
    SCIM_BENCH_TOKEN="$token" "$bench" --url "$url" --sku pro --users "${SCIM_RETENTION_USERS:-4000}" \
        --reads 0 --bulk-users 0 --ceiling-requests 0 --keep --json "$work/$1.json" >"$work/$1.txt"
    python3 - "$work/$1.json" "$1" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for row in report["rows"]:
    if row["scenario"] in ("create", "patch"):
        print(f"{sys.argv[2]:>7}: {row['scenario']}: {row['ops_per_second']:.0f}/s, "
              f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, {row['errors']} errors")
EOF
}
start_server "$server" "$db" --rate-limit 0 --event-retention-days 0
# The same state for both measured runs: a tenant with users already.
run warm-up >/dev/null
run before
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
started=$(date +%s.%N)
start_server "$server" "$db" --rate-limit 0 --event-retention-days 30
run during
left="$(psql "$db" -Atc "SELECT count(*) FROM outbox WHERE at < $old + $events + 1")"
while [[ "$left" -gt 0 ]]; do
    sleep 1
    left="$(psql "$db" -Atc "SELECT count(*) FROM outbox WHERE at < $old + $events + 1")"
done
ended=$(date +%s.%N)
echo "pruned $events events in $(python3 -c "print(f'{$ended - $started:.1f}')") s (from the server's start)"
