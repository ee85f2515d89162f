#!/usr/bin/env bash
# Load run: the release server on a fresh store, driven by scim-bench (release), with the
# bare-handler ceiling measured in the same run. Usage:
#   scripts/load.sh sqlite|postgres [scim-bench flags…]
# e.g. scripts/load.sh postgres --users 5000 --bulk-users 10000
# PostgreSQL: a fresh database on 127.0.0.1:5432 (user postgres), or SCIM_LOAD_POSTGRES
# (a server URL without database). Writes target/bench/load-<store>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
store="${1:?sqlite or postgres}"
shift
cargo build -q --release --locked -p scim-server -p scim-bench
target="${CARGO_TARGET_DIR:-target}"
server="$target/release/scim-server"
# Every process on one database shares the secret keys (a PostgreSQL store needs them).
export SCIM_SECRET_KEYS="${SCIM_SECRET_KEYS:-$("$server" secret-key generate | tail -n1)}"
work="$(mktemp -d)"
mkdir -p "$target/bench"
case "$store" in
    sqlite) db="sqlite://$work/load.db" ;;
    postgres)
        base="${SCIM_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
        name="scim_load_$$"
        psql "$base/postgres" -qc "CREATE DATABASE $name" >/dev/null
        db="$base/$name"
        ;;
    *) echo "store: sqlite or postgres"; exit 2 ;;
esac
cleanup() {
    kill "${server_pid:-0}" 2>/dev/null || true
    wait "${server_pid:-0}" 2>/dev/null || true
    if [[ "$store" == postgres ]]; then
        psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $name" >/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
store_ceilings=()
"$server" --database-url "$db" tenant create load >/dev/null
"$server" --database-url "$db" license set --tenant load --sku pro --seats 1000000 >/dev/null
token="$("$server" --database-url "$db" token issue --tenant load | tail -n1)"
api_key="$("$server" --database-url "$db" api-key create --name load --scope licenses:read | tail -n1)"
# The per-tenant rate limit would answer a load test with 429s.
source scripts/start-server.sh
# SCIM_LOAD_SERVE_FLAGS: more serve flags (e.g. "--record-activity false", to measure what
# the activity log costs against the same run without it).
# shellcheck disable=SC2086
start_server "$server" "$db" --rate-limit 0 --api-rate-limit 0 ${SCIM_LOAD_SERVE_FLAGS:-}
if [[ "$store" == postgres ]]; then
    # Production PostgreSQL analyzes growing tables (autovacuum); this machine's has
    # autovacuum off, so warm the tenant up with 5,000 users and vacuum and analyze, as
    # it would.
    SCIM_BENCH_TOKEN="$token" "$target/release/scim-bench" --url "$url" --users 0 --reads 0 \
        --bulk-users 5000 --ceiling-requests 0 --keep >/dev/null
    psql "$db" -qc "VACUUM ANALYZE" >/dev/null
    # The store's ceiling in the same run: pgbench running the statements a request needs
    # at least, in the server's own tables (scripts/store-ceiling/*.sql).
    psql "$db" -qf scripts/store-ceiling/setup.sql >/dev/null
    seconds="${SCIM_LOAD_CEILING_SECONDS:-10}"
    for script in create create-one-counter lookup page; do
        # IdPs page with one client, one page after the other; the rest with 16.
        clients=16
        [[ "$script" == page ]] && clients=1
        tps="$(pgbench -n -M prepared -c "$clients" -j "$((clients > 1 ? 2 : 1))" -T "$seconds" \
            -f "scripts/store-ceiling/$script.sql" "$db" 2>/dev/null \
            | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')"
        [[ -n "$tps" ]] || { echo "pgbench $script failed"; exit 1; }
        store_ceilings+=(--store-ceiling "$script=$tps")
    done
    psql "$db" -qc "VACUUM ANALYZE" >/dev/null
fi
echo "# scim-bench against the release server on $store ($(nproc) cores, $(date -u +%F))"
SCIM_BENCH_TOKEN="$token" SCIM_BENCH_API_KEY="$api_key" "$target/release/scim-bench" \
    --url "$url" --sku pro --tenant load --json "$target/bench/load-$store.json" "${store_ceilings[@]}" "$@"
rss_kib="$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")"
echo "server RSS after the run: $((rss_kib / 1024)) MiB"
