#!/usr/bin/env bash
# Soak: the release server under mixed traffic from two tenants for a bounded time, on
# loopback. Each round runs every scim-bench workload (creates with a licensed sku, GETs,
# lookups, paging, Entra PATCHes, group adds, /Bulk, deletes) for both tenants at once,
# each cleaning up after itself. After every round: RSS (and its anonymous part, the heap:
# SQLite's WAL index and file pages are file-backed and grow with the database), GET p99
# and errors; at the end: memory flat (the heap at the end <= 1.15 x the heap half-way,
# after the caches warmed up), latency flat (last GET p99 <= 2 x the first's), zero errors
# (every 5xx is one), and a consistency check: after the cleanups every pool's `used` is
# 0, no user is left, and there is one delete event per create event.
#   scripts/soak.sh [MINUTES=10] [sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
store="${2:-sqlite}"
cargo build -q --release --locked -p scim-server -p scim-bench
target="${CARGO_TARGET_DIR:-target}"
server="$target/release/scim-server"
# Every process on one database shares the secret keys (a PostgreSQL store needs them).
export SCIM_SECRET_KEYS="${SCIM_SECRET_KEYS:-$("$server" secret-key generate | tail -n1)}"
bench="$target/release/scim-bench"
work="$(mktemp -d)"
case "$store" in
    sqlite) db="sqlite://$work/soak.db" ;;
    postgres)
        name="scim_soak_$$"
        psql postgres://postgres@127.0.0.1:5432/postgres -qc "CREATE DATABASE $name" >/dev/null
        db="postgres://postgres@127.0.0.1:5432/$name"
        ;;
    *) echo "store: sqlite or postgres"; exit 2 ;;
esac
cleanup() {
    kill "${server_pid:-0}" 2>/dev/null || true
    wait "${server_pid:-0}" 2>/dev/null || true
    [[ "$store" == postgres ]] &&
        psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS $name" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
declare -A tokens
for tenant in alpha beta; do
    "$server" --database-url "$db" tenant create "$tenant" >/dev/null
    "$server" --database-url "$db" license set --tenant "$tenant" --sku pro --seats 1000000 >/dev/null
    tokens[$tenant]="$("$server" --database-url "$db" token issue --tenant "$tenant" | tail -n1)"
done
source scripts/start-server.sh
start_server "$server" "$db" --rate-limit 0
deadline=$((SECONDS + minutes * 60))
round=0
first_p99=0 rss=0 heap=0 p99=0 errors=0
heaps=()
echo "round  rss_MiB  heap_MiB  get_p99_ms(alpha)  errors"
while ((SECONDS < deadline)); do
    round=$((round + 1))
    for tenant in alpha beta; do
        SCIM_BENCH_TOKEN="${tokens[$tenant]}" "$bench" --url "$url" --sku pro --users 500 \
            --reads 2000 --bulk-users 1000 --ceiling-requests 0 \
            --json "$work/$tenant-$round.json" >/dev/null &
    done
    wait $(jobs -p | grep -v "^$server_pid$") 2>/dev/null || true
    rss="$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$server_pid/status")"
    heap="$(awk '/RssAnon/ {print int($2 / 1024)}' "/proc/$server_pid/status")"
    heaps+=("$heap")
    p99="$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['rows']; print(round([x for x in r if x['scenario']=='get'][0]['p99_ms'],2))" "$work/alpha-$round.json")"
    round_errors="$(python3 -c "import json,sys; print(sum(x['errors'] for f in sys.argv[1:] for x in json.load(open(f))['rows']))" "$work/alpha-$round.json" "$work/beta-$round.json")"
    errors=$((errors + round_errors))
    ((round == 1)) && first_p99="$p99"
    printf "%5d  %7d  %8d  %17s  %6d\n" "$round" "$rss" "$heap" "$p99" "$round_errors"
done
half="${heaps[$((round / 2))]}"
echo "rounds: $round, errors: $errors, heap half-way/last: $half/$heap MiB (RSS last $rss MiB), GET p99 first/last: $first_p99/$p99 ms"
status=0
((errors == 0)) || { echo "FAIL: $errors errors"; status=1; }
python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) <= 1.15 * float(sys.argv[1]) else 1)" "$half" "$heap" ||
    { echo "FAIL: memory grew"; status=1; }
python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) <= 2 * max(float(sys.argv[1]), 1.0) else 1)" "$first_p99" "$p99" ||
    { echo "FAIL: latency grew"; status=1; }
for tenant in alpha beta; do
    usage="$("$server" --database-url "$db" license usage --tenant "$tenant" --json)"
    left="$(curl -s -H "Authorization: Bearer ${tokens[$tenant]}" "$url/scim/v2/Users?count=0" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['totalResults'])")"
    used="$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['pools'][0]['used'])" "$usage")"
    creates="$("$server" --database-url "$db" events --tenant "$tenant" --limit 100000000 |
        python3 -c "import json,sys; print(sum(1 for e in json.load(sys.stdin) if any(u.endswith(':prov:create:full') for u in e['events'])))")"
    deletes="$("$server" --database-url "$db" events --tenant "$tenant" --limit 100000000 |
        python3 -c "import json,sys; print(sum(1 for e in json.load(sys.stdin) if any(u.endswith(':prov:delete') for u in e['events'])))")"
    echo "$tenant: users left $left, seats used $used, create events $creates, delete events $deletes"
    [[ "$left" == 0 && "$used" == 0 && "$creates" == "$deletes" ]] ||
        { echo "FAIL: $tenant is not consistent"; status=1; }
done
((status == 0)) && echo "soak passed"
exit "$status"
