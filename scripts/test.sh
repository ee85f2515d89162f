#!/usr/bin/env bash
# The one command that runs every test: unit, store contract (SQLite and PostgreSQL),
# property and end-to-end tests.
#
# PostgreSQL suites need a server at 127.0.0.1:5432 (user postgres, trust auth, database
# test), or SCIM_TEST_POSTGRES_URL. Without one they are skipped on a laptop and listed
# at the end; with CI=true they fail instead.
set -uo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
skipped="$target_dir/skipped-suites.txt"
mkdir -p "$target_dir"
rm -f "$skipped"

cargo test --workspace --locked "$@"
status=$?

if [[ -s "$skipped" ]]; then
    echo
    echo "################################################################################"
    echo "#  WARNING: these suites did NOT run (PostgreSQL unreachable):"
    sort -u "$skipped" | sed 's/^/#    - /'
    echo "#  Start PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database test)"
    echo "#  or set SCIM_TEST_POSTGRES_URL=postgres://user@host:port/db, then run again."
    echo "################################################################################"
fi
exit $status
