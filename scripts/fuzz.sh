#!/usr/bin/env bash
# libFuzzer targets for scim-core (fuzz/): the filter parser and evaluator, PATCH parsing and
# planning, resource validation, /Bulk parsing and ordering. Built on stable Rust with
# libFuzzer's coverage instrumentation (what `cargo fuzz` passes, without the nightly-only
# AddressSanitizer: the code under test is safe Rust, so the findings are panics, hangs,
# overflows, debug assertions and memory limits).
#
#   scripts/fuzz.sh replay                 every corpus input once per target (CI)
#   scripts/fuzz.sh run SECONDS [TARGET…]  fuzz each target for SECONDS, adding what it
#                                          finds to fuzz/corpus/TARGET (merged, minimal)
#   scripts/fuzz.sh smoke SECONDS          fuzz each target briefly without touching the
#                                          corpus (CI)
# A crash, hang (> 5 s per input) or input using > 2 GiB fails the script and leaves the
# input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(filter patch resource bulk)
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
triple="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="${CARGO_TARGET_DIR:-target}/fuzz"
# --target keeps the instrumentation off build scripts and proc macros.
cargo build -q --release --locked --manifest-path fuzz/Cargo.toml --target "$triple" \
    --target-dir "$target_dir"
bin="$target_dir/$triple/release"
limits=(-timeout=5 -rss_limit_mb=2048 -max_len=65536)

fuzz() {
    local target="$1" seconds="$2" into="$3"
    mkdir -p "fuzz/artifacts/$target" "fuzz/corpus/$target"
    "$bin/$target" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" "$into" "fuzz/corpus/$target" 2>&1 |
        grep -E "^(stat::number_of_executed_units|Done|==|SUMMARY|panicked|thread)" || true
    test "${PIPESTATUS[0]}" -eq 0
}

case "${1:-}" in
    replay)
        for target in "${targets[@]}"; do
            "$bin/$target" "${limits[@]}" -runs=0 "fuzz/corpus/$target" 2>&1 | tail -n1
            test "${PIPESTATUS[0]}" -eq 0
        done
        ;;
    smoke)
        seconds="${2:?seconds}"
        for target in "${targets[@]}"; do
            scratch="$(mktemp -d)"
            echo "$target: ${seconds}s"
            fuzz "$target" "$seconds" "$scratch"
            rm -rf "$scratch"
        done
        ;;
    run)
        seconds="${2:?seconds}"
        shift 2
        (($#)) && targets=("$@")
        for target in "${targets[@]}"; do
            found="$(mktemp -d)"
            echo "$target: ${seconds}s"
            fuzz "$target" "$seconds" "$found"
            # Keep the smallest set of inputs that covers what the old and new ones do.
            merged="$(mktemp -d)"
            "$bin/$target" "${limits[@]}" -merge=1 "$merged" "fuzz/corpus/$target" "$found" \
                2>/dev/null
            rm -rf "fuzz/corpus/$target" "$found"
            mv "$merged" "fuzz/corpus/$target"
            echo "$target: $(ls "fuzz/corpus/$target" | wc -l) corpus inputs"
        done
        ;;
    *)
        echo "usage: scripts/fuzz.sh replay | smoke SECONDS | run SECONDS [TARGET…]" >&2
        exit 2
        ;;
esac
