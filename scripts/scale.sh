#!/usr/bin/env bash
# Scale run (issue 8): how GET, userName lookups and paging change with a tenant's size,
# on PostgreSQL, and the server's memory. One tenant grows through /Bulk to each size in
# turn (default 1,000, 100,000 and 1,000,000 licensed users); at each size the database is
# vacuumed and analyzed (as autovacuum would; this machine's PostgreSQL has it off), the
# server's idle RSS is read, scim-bench creates 1,000 more users and measures GETs,
# lookups, PATCHes and a full startIndex walk of the tenant, and the RSS is read again.
# Usage: scripts/scale.sh [sizes…]      e.g. scripts/scale.sh 1000 100000 1000000
# Writes target/bench/scale-<size>.json and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 100000 1000000)
cargo build -q --release --locked -p scim-server -p scim-bench
target="${CARGO_TARGET_DIR:-target}"
server="$target/release/scim-server"
# Every process on one database shares the secret keys (a PostgreSQL store needs them).
export SCIM_SECRET_KEYS="${SCIM_SECRET_KEYS:-$("$server" secret-key generate | tail -n1)}"
bench="$target/release/scim-bench"
work="$(mktemp -d)"
mkdir -p "$target/bench"
base="${SCIM_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
name="scim_scale_$$"
psql "$base/postgres" -qc "CREATE DATABASE $name" >/dev/null
db="$base/$name"
cleanup() {
    kill "${server_pid:-0}" 2>/dev/null || true
    wait "${server_pid:-0}" 2>/dev/null || true
    psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $name" >/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$server" --database-url "$db" tenant create scale >/dev/null
"$server" --database-url "$db" license set --tenant scale --sku pro --seats 10000000 >/dev/null
token="$("$server" --database-url "$db" token issue --tenant scale | tail -n1)"
source scripts/start-server.sh
start_server "$server" "$db" --rate-limit 0
rss() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status") / 1024 )); }
have=0
for size in "${sizes[@]}"; do
    started=$SECONDS
    SCIM_BENCH_TOKEN="$token" "$bench" --url "$url" --users 0 --reads 0 --sku pro \
        --bulk-users "$((size - have))" --ceiling-requests 0 --keep >/dev/null
    have=$size
    echo "# $size users (grown in $((SECONDS - started)) s); idle RSS $(rss) MiB"
    psql "$db" -qc "VACUUM ANALYZE" >/dev/null
    SCIM_BENCH_TOKEN="$token" "$bench" --url "$url" --users 1000 --reads 10000 --sku pro \
        --bulk-users 0 --ceiling-requests 0 --json "$target/bench/scale-$size.json"
    echo "RSS after the run: $(rss) MiB"
done
python3 - "$target/bench" "${sizes[@]}" <<'PY'
import json, sys
folder, sizes = sys.argv[1], sys.argv[2:]
rows = {}
for size in sizes:
    report = json.load(open(f"{folder}/scale-{size}.json"))
    rows[size] = {row["scenario"]: row for row in report["rows"]}
first = sizes[0]
print("\n| users | GET p50 / p99 ms | lookup p50 / p99 ms | lookup p99 vs first | page p50 ms | pages | pages/s |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for size in sizes:
    r = rows[size]
    ratio = r["lookup"]["p99_ms"] / rows[first]["lookup"]["p99_ms"]
    print(f"| {int(size):,} | {r['get']['p50_ms']:.2f} / {r['get']['p99_ms']:.2f} | "
          f"{r['lookup']['p50_ms']:.2f} / {r['lookup']['p99_ms']:.2f} | {ratio:.2f}× | "
          f"{r['page']['p50_ms']:.2f} | {r['page']['ops']:,} | {r['page']['ops_per_second']:.0f} |")
    print(f"|  | page note: {r['page']['note']} |||||")
PY
