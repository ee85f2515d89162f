# Sourced by scripts/load.sh, scale.sh and validate.sh. `start_server BINARY DATABASE_URL
# [serve flags…]` starts the server in the background on a loopback port, its output in
# "$work" (which the caller made and removes), and sets `server_pid` and `url`.
start_server() {
    local binary="$1" database="$2"
    shift 2
    RUST_LOG="${RUST_LOG:-warn}" "$binary" --database-url "$database" serve \
        --listen 127.0.0.1:0 "$@" >"$work/stdout" 2>"$work/stderr" &
    server_pid=$!
    for _ in $(seq 1 100); do
        grep -q "listening on" "$work/stdout" 2>/dev/null && break
        sleep 0.1
    done
    url="$(sed -n 's/^listening on //p' "$work/stdout" | head -n1)"
    [[ -n "$url" ]] || { echo "server did not start"; cat "$work/stderr"; exit 1; }
}
