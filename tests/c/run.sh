#!/bin/sh
# Runs the C tests and the C example. Each program gets a fresh dev server, so request counts
# start from zero; the runner, not the C programs, talks to the server's /_dev endpoints (with
# curl, and python3 to read the JSON). Prints PASS/FAIL per test, runs them all even after a
# failure, and exits non-zero if any failed.
#
# Started by `make -C tests/c test`, which builds the programs and sets OUT (build directory),
# ROOT (repository), DEV_SERVER (binary) and NATIVE_LIBS (the static link line).
set -eu
cd "$(dirname "$0")"

: "${OUT:?run me through: make -C tests/c test}"
: "${ROOT:?}" "${DEV_SERVER:?}" "${NATIVE_LIBS:?}"

# The dev server's client for these tests. A test secret, but the tests still never print it.
CLIENT_ID=c-test
CLIENT_SECRET=c-test-secret-4f9a27
VALGRIND="valgrind --quiet --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=1"

passed=0
failed=0
failed_names=""
server_pid=""
workdir=$(mktemp -d)

stop_server() {
    if [ -n "$server_pid" ]; then
        exec 3>&- # EOF on its stdin ends the server (--exit-on-stdin-eof) ...
        kill "$server_pid" 2>/dev/null || true # ... and so does this, without waiting for it
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$workdir"' EXIT
trap 'exit 1' INT TERM

start_server() {
    rm -f "$workdir/stdin" "$workdir/server.out"
    mkfifo "$workdir/stdin"
    "$DEV_SERVER" --addr 127.0.0.1:0 --exit-on-stdin-eof \
        --client "$CLIENT_ID" --secret "$CLIENT_SECRET" --scopes read,write \
        <"$workdir/stdin" >"$workdir/server.out" 2>"$workdir/server.log" &
    server_pid=$!
    # We hold the write end of the server's stdin until stop_server. Should this script die
    # instead, the kernel closes it, and the server exits too.
    exec 3>"$workdir/stdin"

    base=""
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
        base=$(sed -n 's/^cctoken-dev-server listening on \(http:[^ ]*\)$/\1/p' "$workdir/server.out")
        [ -n "$base" ] && break
        sleep 0.1
    done
    if [ -z "$base" ]; then
        echo "the dev server did not start; its log:" >&2
        cat "$workdir/server.log" >&2
        exit 1
    fi
    export CCTOKEN_BASE_URL="$base" CCTOKEN_TOKEN_URL="$base/token" CCTOKEN_RESOURCE_URL="$base/resource"
    export CCTOKEN_CLIENT_ID="$CLIENT_ID" CCTOKEN_CLIENT_SECRET="$CLIENT_SECRET"
}

pass() {
    echo "PASS  $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL  $1"
    failed=$((failed + 1))
    failed_names="$failed_names
      $1"
}

# run NAME COMMAND [ARGS...]: one test; the command's own output explains a failure.
run() {
    name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# Makes the dev server answer token requests slowly, so concurrent callers overlap.
set_fault() {
    curl -sSf -X POST -H 'Content-Type: application/json' -d "$1" "$CCTOKEN_BASE_URL/_dev/fault" >/dev/null
}

# expect_stat NAME COUNTER N: the dev server's own /_dev/stats COUNTER is exactly N.
expect_stat() {
    n=$(curl -sSf "$CCTOKEN_BASE_URL/_dev/stats" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2") || n="(no answer)"
    if [ "$n" = "$3" ]; then
        pass "$1"
    else
        echo "    the dev server counted $2=$n, expected $3" >&2
        fail "$1"
    fi
}

# equal NAME GOT WANT: two strings are equal; prints both when they are not.
equal() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        printf '    got:      %s\n    expected: %s\n' "$2" "$3" >&2
        fail "$1"
    fi
}

echo "C tests against $ROOT/target/stage"

# A function added to the header without a C test would go untested: catch that here.
untested=""
for f in $(grep -o 'cct_[a-z0-9_]*(' "$ROOT/target/stage/include/cctoken.h" | tr -d '(' | sort -u); do
    grep -qw "$f" ./*.c "$ROOT/examples/c/fetch_token.c" || untested="$untested $f"
done
equal "every function in cctoken.h is called by the C tests" "$untested" ""

run "API contract: NULL arguments, UTF-8, enums, config errors, untouched outputs" "$OUT/asan/test_api"

start_server
run "token fetch, cache, clone, invalidate, invalid_client, secret rotation, metrics" "$OUT/asan/test_fetch"
stop_server

start_server
set_fault '{"latency_ms": 300}'
run "16 threads x 1000 get_token calls on one client: one token" "$OUT/asan/test_threads"
expect_stat "16 threads x 1000 get_token calls: the dev server saw 1 token request" token_requests 1
stop_server

# valgrind cannot run sanitized programs: these are the plain builds.
start_server
run "valgrind: token fetch tests (no memory errors, nothing definitely lost)" $VALGRIND "$OUT/plain/test_fetch"
stop_server

start_server
set_fault '{"latency_ms": 300}'
run "valgrind: 16 threads x 1000 calls (no memory errors, nothing definitely lost)" \
    $VALGRIND "$OUT/plain/test_threads"
expect_stat "valgrind: 16 threads x 1000 calls: the dev server saw 1 token request" token_requests 1
stop_server

# The shared library: its SONAME, a program linked against it records that name, and works.
lib="$ROOT/target/stage/lib/libcctoken.so"
equal "shared library: libcctoken.so has SONAME libcctoken.so.0" \
    "$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" "libcctoken.so.0"
equal "shared library: a program linked with -lcctoken needs libcctoken.so.0" \
    "$(readelf -d "$OUT/shared/test_fetch" | sed -n 's/.*(NEEDED).*\[\(libcctoken[^]]*\)\]/\1/p')" \
    "libcctoken.so.0"
start_server
run "shared library: token fetch tests linked with -lcctoken" "$OUT/shared/test_fetch"
stop_server

# The static link line: what rustc says today, what tests/c/Makefile uses, and what the README
# tells users must be the same, or the README would silently rot.
rustc_output=$(cd "$ROOT" && cargo rustc --quiet --release --lib --crate-type staticlib \
    -- --print native-static-libs 2>&1) || true
printed=$(printf '%s\n' "$rustc_output" | sed -n 's/^note: native-static-libs: //p')
[ -n "$printed" ] || printf '%s\n' "$rustc_output" | tail -n 20 >&2
equal "rustc's native-static-libs equals NATIVE_LIBS in tests/c/Makefile" "$printed" "$NATIVE_LIBS"
if grep -qF -- "libcctoken.a $NATIVE_LIBS" "$ROOT/README.md"; then
    pass "README.md gives the static link line"
else
    echo "    README.md should contain: libcctoken.a $NATIVE_LIBS" >&2
    fail "README.md gives the static link line"
fi

# The example prints exactly one line: 1 fetch, then 1000 cache hits.
start_server
example_output=$("$OUT/asan/fetch_token") || example_output="(exit status $?) $example_output"
equal "C example (examples/c/fetch_token.c) output" "$example_output" "c: token fetches=1 cache hits=1000"
expect_stat "C example: the dev server saw 1 token request" token_requests 1
expect_stat "C example: the dev server saw 1 resource request" resource_requests 1
stop_server

echo "C tests: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "failed:$failed_names" >&2
    exit 1
fi
