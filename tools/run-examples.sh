#!/usr/bin/env bash
# Runs the Rust, C, Python and Go examples against one dev server and checks each one's
# output line. `--demo` also narrates for a human. Used by `make test` and `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=false
[[ "${1:-}" == "--demo" ]] && demo=true
say() { if $demo; then echo "$@"; fi; }

server_bin=${CCTOKEN_DEV_SERVER:-target/debug/cctoken-dev-server}
[[ -x "$server_bin" ]] || cargo build --quiet -p cctoken-dev-server
# `make demo` builds the example in release (CCTOKEN_EXAMPLE_PROFILE=release), `make test` in debug.
profile=${CCTOKEN_EXAMPLE_PROFILE:-debug}
cargo build --quiet --example fetch_token $([[ $profile == release ]] && echo --release)

# The server reads its stdin from our pipe: when this script ends, however it ends, the server
# sees EOF and exits. The trap also kills it on the normal path.
workdir=$(mktemp -d)
mkfifo "$workdir/stdin"
"$server_bin" --addr 127.0.0.1:0 --exit-on-stdin-eof \
    --client demo-client --secret demo-secret --scopes read,write --lifetime 4 \
    <"$workdir/stdin" >"$workdir/server.out" 2>"$workdir/server.log" &
server_pid=$!
exec 3>"$workdir/stdin"
trap 'exec 3>&-; kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$workdir"' EXIT

# A generous bound (a loaded 2-core CI machine is slow); a start over 5 s is reported.
started=$SECONDS
base=""
while ((SECONDS - started < 120)); do
    base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$workdir/server.out")
    [[ -n "$base" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
[[ -n "$base" ]] || { echo "dev server did not start within 120 s" >&2; cat "$workdir/server.log" >&2; exit 1; }
((SECONDS - started <= 5)) || echo "note: the dev server took $((SECONDS - started)) s to start" >&2
say "dev server: $base (demo-client / demo-secret, 4 s tokens)"

export CCTOKEN_TOKEN_URL="$base/token" CCTOKEN_CLIENT_ID=demo-client CCTOKEN_CLIENT_SECRET=demo-secret
export CCTOKEN_RESOURCE_URL="$base/resource"
export CCTOKEN_LIBRARY="$PWD/target/stage/lib/libcctoken.so"

python=python3
[[ -x bindings/python/.venv/bin/python ]] && python=bindings/python/.venv/bin/python

mkdir -p target/examples
cc -std=c11 -Wall -Wextra -Werror -Iinclude examples/c/fetch_token.c \
    target/stage/lib/libcctoken.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o target/examples/fetch_token_c

# Each example prints one line "<lang>: token fetches=N cache hits=M ..." and exits 0.
check() {
    local lang=$1; shift
    local out
    if ! out=$("$@"); then
        echo "$lang example failed" >&2
        exit 1
    fi
    echo "$out"
    grep -Eq "^$lang: token fetches=[1-9][0-9]* cache hits=[1-9][0-9]*" <<<"$out" \
        || { echo "$lang example printed an unexpected summary" >&2; exit 1; }
}
check rust target/$profile/examples/fetch_token
check c target/examples/fetch_token_c
check python env PYTHONPATH=bindings/python "$python" examples/python/fetch_token.py
check go bash -c 'cd examples/go && go run .'
say "all four languages fetched from one dev server; it answered $(curl -s "$base/_dev/stats")"
