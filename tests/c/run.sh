#!/bin/sh
# Runs the C tests and the C example. Each program gets a fresh dev server, so request counts
# start from zero; the runner, not the C programs, talks to the server's /_dev endpoints (with
# curl, and python3 to read the JSON). Prints PASS/FAIL per test, runs them all even after a
# failure, and exits non-zero if any failed. The interop block runs test_interop against the
# real oidc-provider server (tests/interop/server.mjs); interop.py does its JSON.
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
# The oidc-provider interop server (start_interop), on its own fd 4 like the dev server's 3.
interop_pid=""
stop_interop() {
    if [ -n "$interop_pid" ]; then
        exec 4>&- # the server exits when its stdin closes ...
        kill "$interop_pid" 2>/dev/null || true # ... and on SIGTERM
        wait "$interop_pid" 2>/dev/null || true
        interop_pid=""
    fi
}
trap 'stop_server; stop_interop; rm -rf "$workdir"' EXIT
trap 'exit 1' INT TERM

# start_server [ARGS...]: a fresh dev server with the test client, plus ARGS (e.g. --tls-dir).
# Generous bound for a server's first line (a loaded 2-core CI machine is slow to start node);
# a start slower than 5 s is reported with how long it took.
STARTUP_TIMEOUT=120

# wait_for_line FILE REGEX PID WHAT: waits until FILE has a line matching REGEX, PID dies, or
# STARTUP_TIMEOUT passes. Fails unless the line came.
wait_for_line() {
    t0=$(date +%s%N)
    deadline=$(($(date +%s) + STARTUP_TIMEOUT))
    while ! grep -q "$2" "$1" 2>/dev/null; do
        kill -0 "$3" 2>/dev/null || break
        [ "$(date +%s)" -lt "$deadline" ] || break
        sleep 0.1
    done
    grep -q "$2" "$1" 2>/dev/null || return 1
    took_ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$took_ms" -gt 5000 ]; then
        echo "note: $4 took $((took_ms / 1000)).$((took_ms % 1000 / 100)) s to start" >&2
    fi
}

start_server() {
    rm -f "$workdir/stdin" "$workdir/server.out"
    mkfifo "$workdir/stdin"
    "$DEV_SERVER" --addr 127.0.0.1:0 --exit-on-stdin-eof \
        --client "$CLIENT_ID" --secret "$CLIENT_SECRET" --scopes read,write "$@" \
        <"$workdir/stdin" >"$workdir/server.out" 2>"$workdir/server.log" &
    server_pid=$!
    # We hold the write end of the server's stdin until stop_server. Should this script die
    # instead, the kernel closes it, and the server exits too.
    exec 3>"$workdir/stdin"

    base=""
    if wait_for_line "$workdir/server.out" '^cctoken-dev-server listening on ' "$server_pid" "the dev server"; then
        base=$(sed -n 's/^cctoken-dev-server listening on \(https\{0,1\}:[^ ]*\)$/\1/p' "$workdir/server.out")
    fi
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
run "events: scenario fields and no secrets, re-entrant and slow callbacks, none after free" "$OUT/asan/test_events"
stop_server

start_server
set_fault '{"latency_ms": 300}'
run "16 threads x 1000 get_token calls on one client: one token" "$OUT/asan/test_threads"
expect_stat "16 threads x 1000 get_token calls: the dev server saw 1 token request" token_requests 1
stop_server

# cct_client_free cancels a fetch left waiting for a retry, and no request is sent after it.
start_server
set_fault '{"status": 503, "retry_after": "5"}'
run "cct_client_free cancels a fetch waiting to retry and returns promptly" "$OUT/asan/test_free"
sleep 6
expect_stat "after cct_client_free: the cancelled retry was never sent" token_requests 1
stop_server

# Shared file store: 8 processes at once on one cache directory, one token request.
start_server
set_fault '{"latency_ms": 500}'
export CCTOKEN_CACHE_DIR="$workdir/cache"
store_pids=""
for i in 1 2 3 4 5 6 7 8; do
    "$OUT/asan/test_store" >"$workdir/store.$i.log" 2>&1 &
    store_pids="$store_pids $!"
done
store_failed=0
for p in $store_pids; do wait "$p" || store_failed=1; done
cat "$workdir"/store.*.log >&2
if [ "$store_failed" -eq 0 ]; then pass "8 processes on one cache directory: store counters, setters"; else fail "8 processes on one cache directory: store counters, setters"; fi
expect_stat "8 processes on one cache directory: the dev server saw 1 token request" token_requests 1
unset CCTOKEN_CACHE_DIR
stop_server

# HTTPS: a CA generated by the server, a tls_client_auth client, TLS failures as CCT_STATUS_TLS.
start_server --tls-dir "$workdir/tls" --client c-mtls --auth tls
export CCTOKEN_TLS_DIR="$workdir/tls"
run "HTTPS: test CA, unknown CA and host-name mismatch give CCT_STATUS_TLS, tls_client_auth, root_ca_only" "$OUT/asan/test_tls"
run "HTTPS: SSL_CERT_FILE is the system store (CCT_TRUST_SYSTEM), ignored by CCT_TRUST_BUNDLED" \
    env SSL_CERT_FILE="$workdir/tls/ca.pem" "$OUT/asan/test_tls" ssl-cert-file
# A real proxy (Debian's tinyproxy) on 127.0.0.1: cct_config_set_proxy sends the request through it.
proxy_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\nLogFile "%s"\n' \
    "$proxy_port" "$workdir/tinyproxy.log" >"$workdir/tinyproxy.conf"
tinyproxy -d -c "$workdir/tinyproxy.conf" </dev/null >/dev/null 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$proxy_port" \
        2>/dev/null && break
    sleep 0.1
done
server_port=${CCTOKEN_BASE_URL##*:}
run "HTTPS through a proxy (cct_config_set_proxy)" env CCTOKEN_PROXY_URL="http://127.0.0.1:$proxy_port" \
    "$OUT/asan/test_tls" proxy
equal "the proxy logged one CONNECT to the token endpoint" \
    "$(grep -c "CONNECT 127.0.0.1:$server_port " "$workdir/tinyproxy.log" || true)" 1
kill "$proxy_pid" 2>/dev/null || true
wait "$proxy_pid" 2>/dev/null || true
stop_server

# ---- Provider stand-ins (issue 12): Microsoft Entra ID and Google, --providers-dir ----------
# The server generates its fixtures into $pdir and lists them in providers.json; this block
# exports what test_providers needs, fetches federated tokens from the federation issuer, and
# after each scenario checks what the stand-in saw through /_dev/last-assertion.
run "providers: the issue-12 setters: NULL arguments, UTF-8, enum values, configuration errors" \
    "$OUT/asan/test_providers"

# last_assertion EXPR: EXPR (Python, over the JSON record `d`) of the last assertion seen.
last_assertion() {
    curl -sSf "$CCTOKEN_LAST_ASSERTION_URL" |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" ||
        echo "(no answer)"
}

start_providers() {
    pdir="$workdir/providers"
    rm -rf "$pdir"
    start_server --providers-dir "$pdir"
    for _ in $(seq 1 100); do
        [ -s "$pdir/providers.json" ] && break
        sleep 0.1
    done
    exports=$(python3 - "$pdir/providers.json" <<'PY'
import json, shlex, sys
m = json.load(open(sys.argv[1]))
e, cert, g = m["entra"], m["entra"]["cert_client"], m["google"]
sa = json.load(open(g["service_account_file"]))
values = {
    "ENTRA_TOKEN_URL": e["token_url"], "ENTRA_SCOPE": e["scope"],
    "ENTRA_SECRET_CLIENT_ID": e["secret_client"]["client_id"],
    "ENTRA_CLIENT_SECRET": e["secret_client"]["client_secret"],
    "ENTRA_CERT_CLIENT_ID": cert["client_id"], "ENTRA_KEY_PEM": cert["key_pem"],
    "ENTRA_CERT_PEM": cert["cert_pem"], "ENTRA_OTHER_CERT_PEM": cert["unregistered_cert_pem"],
    "ENTRA_PFX": cert["pfx"], "ENTRA_PFX_PASSWORD": cert["pfx_password"],
    "ENTRA_PFX_NOPASS": cert["pfx_no_password"], "ENTRA_X5T": cert["x5t"], "ENTRA_X5T_S256": cert["x5t_s256"],
    "ENTRA_FEDERATED_CLIENT_ID": e["federated_client"]["client_id"],
    "ENTRA_FEDERATED_SUBJECT": e["federated_client"]["subject"],
    "FEDERATION_TOKEN_ENDPOINT": m["federation"]["token_endpoint"],
    "GOOGLE_TOKEN_URL": g["token_url"], "GOOGLE_SA_FILE": g["service_account_file"],
    "GOOGLE_CLIENT_EMAIL": g["client_email"], "GOOGLE_SCOPE": g["scope"],
    "GOOGLE_KEY_ID": sa["private_key_id"], "LAST_ASSERTION_URL": m["last_assertion"],
}
for k, v in values.items():
    print(f"export CCTOKEN_{k}={shlex.quote(v)}")
PY
    ) || exports=""
    eval "$exports"
    [ -n "$exports" ]
}

if start_providers; then
    run "providers: Entra certificate from PEM files (RS256, default x5t)" "$OUT/asan/test_providers" entra-pem
    equal "providers: the assertion's x5t is the registered certificate's SHA-1 thumbprint" \
        "$(last_assertion 'd["header"].get("x5t"), d["header"]["alg"], d["header"].get("typ")')" \
        "('$CCTOKEN_ENTRA_X5T', 'RS256', 'JWT')"

    run "providers: Entra certificate, PS256 with x5t#S256 and x5c" "$OUT/asan/test_providers" entra-pem-s256
    equal "providers: x5t#S256 is the certificate's SHA-256 thumbprint; x5c has the chain; no x5t" \
        "$(last_assertion 'd["header"].get("x5t#S256"), d["header"]["alg"], len(d["header"].get("x5c", [])), d["header"].get("x5t")')" \
        "('$CCTOKEN_ENTRA_X5T_S256', 'PS256', 2, None)"

    run "providers: Entra certificate from PKCS#12 (file, memory, no password); a wrong password" \
        "$OUT/asan/test_providers" entra-pfx
    equal "providers: PKCS#12 without a password, CCT_THUMBPRINT_BOTH: x5t and x5t#S256" \
        "$(last_assertion 'd["header"].get("x5t"), d["header"].get("x5t#S256")')" \
        "('$CCTOKEN_ENTRA_X5T', '$CCTOKEN_ENTRA_X5T_S256')"

    run "providers: wrong thumbprint: CCT_STATUS_OAUTH invalid_client, AADSTS700027, HTTP 401" \
        "$OUT/asan/test_providers" entra-wrong-thumbprint
    run "providers: an assertion valid for an hour: CCT_STATUS_OAUTH invalid_client, AADSTS700024" \
        "$OUT/asan/test_providers" entra-assertion-too-long
    equal "providers: the refused assertion's lifetime (exp - iat) was the configured hour" \
        "$(last_assertion 'd["claims"]["exp"] - d["claims"]["iat"]')" "3600"

    export CCTOKEN_FEDERATED_TOKEN_FILE="$pdir/c-federated-token" CCTOKEN_FEDERATED_EXPIRED_FILE="$pdir/c-expired-token"
    curl -sSf "$CCTOKEN_FEDERATION_TOKEN_ENDPOINT?ttl=600" >"$CCTOKEN_FEDERATED_TOKEN_FILE" ||
        fail "providers: a federated token from $CCTOKEN_FEDERATION_TOKEN_ENDPOINT"
    curl -sSf "$CCTOKEN_FEDERATION_TOKEN_ENDPOINT?ttl=-120" >"$CCTOKEN_FEDERATED_EXPIRED_FILE" ||
        fail "providers: an expired federated token from $CCTOKEN_FEDERATION_TOKEN_ENDPOINT"
    run "providers: federated assertion file; expired and missing files are named" \
        "$OUT/asan/test_providers" federated
    equal "providers: the federated assertion was sent as client_assertion (the expired one never was)" \
        "$(last_assertion 'd["claims"]["sub"], "client_assertion_type" in d["form"], d["claims"]["exp"] > __import__("time").time()')" \
        "('$CCTOKEN_ENTRA_FEDERATED_SUBJECT', True, True)"

    run "providers: Google service-account file and JSON, subject; a foreign key is invalid_grant" \
        "$OUT/asan/test_providers" google
    equal "providers: the jwt-bearer assertion: iss, kid, scope claim, aud, sub" \
        "$(last_assertion 'd["claims"]["iss"], d["header"]["kid"], d["claims"]["scope"], d["claims"]["aud"], d["claims"].get("sub")')" \
        "('$CCTOKEN_GOOGLE_CLIENT_EMAIL', '$CCTOKEN_GOOGLE_KEY_ID', '$CCTOKEN_GOOGLE_SCOPE', '$CCTOKEN_GOOGLE_TOKEN_URL', 'admin@example.com')"

    run "valgrind: providers contract (no memory errors, nothing definitely lost)" $VALGRIND "$OUT/plain/test_providers"
    run "valgrind: providers, PKCS#12 and Google scenarios" \
        sh -c "$VALGRIND '$OUT/plain/test_providers' entra-pfx && $VALGRIND '$OUT/plain/test_providers' google"
else
    fail "providers: start the dev server with --providers-dir and read providers.json"
fi
stop_server

# ---- Interop: a real authorization server (oidc-provider, tests/interop/README.md) ----------
# One server for the whole block (each scenario uses clients of its own, and the counts we
# assert are per client). interop.py turns its JSON line into files under $idir that
# test_interop reads; each token test_interop gets comes back through $idir/out/NAME.token,
# which we introspect at the server as `introspector` and then delete.
idir="$workdir/interop"

# start_interop: starts tests/interop/server.mjs and writes its description into $idir.
start_interop() {
    if [ ! -d "$ROOT/tests/interop/node_modules/oidc-provider" ]; then
        echo "tests/interop/node_modules is missing: run 'npm ci --prefix tests/interop' (make interop-deps)" >&2
        return 1
    fi
    rm -rf "$idir"
    mkdir -m 700 "$idir" "$idir/out"
    mkfifo "$idir/stdin"
    node "$ROOT/tests/interop/server.mjs" <"$idir/stdin" >"$idir/server.out" 2>"$idir/server.log" &
    interop_pid=$!
    exec 4>"$idir/stdin" # held until stop_interop; if this script dies, the server does too
    if ! wait_for_line "$idir/server.out" '^{.*}$' "$interop_pid" "the interop server" ||
        ! python3 interop.py setup "$idir" <"$idir/server.out"; then
        echo "the interop server did not start; its log:" >&2
        tail -n 30 "$idir/server.log" >&2
        return 1
    fi
    export CCTOKEN_INTEROP_DIR="$idir"
}

# interop_run NAME SCENARIO: runs `test_interop SCENARIO`. Its output is shown only after
# checking that it holds no client secret and not the token the scenario got.
interop_run() {
    rc=0
    timeout 20 "$OUT/asan/test_interop" "$2" >"$idir/out/$2.log" 2>&1 || rc=$?
    cp "$idir/secrets.txt" "$idir/out/patterns"
    if [ -s "$idir/out/$2.token" ]; then
        { cat "$idir/out/$2.token"; echo; } >>"$idir/out/patterns"
    fi
    if grep -qF -f "$idir/out/patterns" "$idir/out/$2.log"; then
        echo "    the output of test_interop $2 contains a secret or a token (not shown)" >&2
        rc=1
    else
        cat "$idir/out/$2.log" >&2
    fi
    rm -f "$idir/out/patterns" "$idir/out/$2.log"
    if [ "$rc" -eq 0 ]; then pass "$1"; else fail "$1"; fi
}

# interop_introspect NAME SCENARIO CLIENT SCOPE AUDIENCE TOKEN_TYPE [CNF_MEMBER CNF_FILE]:
# the server says the token of SCENARIO is active, for CLIENT, SCOPE and AUDIENCE, of
# TOKEN_TYPE, and bound to CNF_MEMBER = content of $idir/CNF_FILE (or not bound). Deletes it.
interop_introspect() {
    name=$1
    token="$idir/out/$2.token"
    shift 2
    if [ ! -s "$token" ]; then
        echo "    no token to introspect" >&2
        fail "$name"
        return
    fi
    answer=$(curl -sS --max-time 5 --cacert "$idir/ca_pem" -K "$idir/introspector.curlrc" \
        --data-urlencode "token@$token" "$(cat "$idir/introspection_endpoint")") || answer="(no answer)"
    rm -f "$token"
    if printf '%s' "$answer" | python3 interop.py check "$idir" "$@"; then pass "$name"; else fail "$name"; fi
}

# interop_stat requests CLIENT | errors CLIENT ERROR: a count from the server's stats.
interop_stat() {
    curl -sS --max-time 5 --cacert "$idir/ca_pem" "$(cat "$idir/stats_endpoint")" |
        python3 interop.py stat "$idir" "$@" || echo "(no answer)"
}

if start_interop; then
    aud=$(cat "$idir/resources/default/audience")

    interop_run "interop: client_secret_basic, form-encoded secret with +/=%:! and a space" basic
    interop_introspect "interop: client_secret_basic token is active at the server" \
        basic basic "read write" "$aud" Bearer
    interop_run "interop: client_secret_post (secret file) with RFC 8707 resource b" post
    interop_introspect "interop: client_secret_post token is active, aud of resource b" \
        post post read "$(cat "$idir/resources/b/audience")" Bearer
    interop_run "interop: client_secret_jwt (HS256)" secret-jwt
    interop_introspect "interop: client_secret_jwt token is active at the server" \
        secret-jwt secret-jwt "read write" "$aud" Bearer
    for c in pkjwt-rs256 pkjwt-ps256 pkjwt-es256 pkjwt-eddsa; do
        interop_run "interop: private_key_jwt, PEM key, $c" "$c"
        interop_introspect "interop: private_key_jwt token is active at the server ($c)" \
            "$c" "$c" read "$aud" Bearer
    done
    for c in tls self-signed-tls; do
        interop_run "interop: mTLS client certificate ($c)" "$c"
        interop_introspect "interop: mTLS token is active and bound: cnf.x5t#S256 = the certificate's ($c)" \
            "$c" "$c" write "$aud" Bearer 'x5t#S256' "clients/$c/cert_x5t_s256"
    done
    interop_run "interop: DPoP with a nonce challenge: token_type DPoP" dpop
    interop_introspect "interop: DPoP token is active and bound: cnf.jkt = cct_client_dpop_jkt" \
        dpop dpop-nonce "read write" "$aud" DPoP jkt out/dpop.jkt
    rm -f "$idir/out/dpop.jkt"
    equal "interop: DPoP: the server sent exactly one use_dpop_nonce challenge" \
        "$(interop_stat errors dpop-nonce use_dpop_nonce)" 1
    equal "interop: DPoP: and issued exactly one token" "$(interop_stat requests dpop-nonce)" 1
    interop_run "interop: discovery: issuer instead of token URL (all-scopes client, read admin)" discovery
    interop_introspect "interop: discovered endpoint's token is active at the server" \
        discovery all-scopes "read admin" "$aud" Bearer

    interop_run "interop: wrong secret: CCT_STATUS_OAUTH invalid_client, HTTP 401, no secret in the error" \
        wrong-secret
    interop_run "interop: raw (not form-encoded) Basic: invalid_request, HTTP 400" raw-basic
    interop_run "interop: scope admin not allowed for basic: invalid_scope, HTTP 400" disallowed-scope
    interop_run "interop: no client_credentials grant: invalid_request (oidc-provider; RFC: unauthorized_client)" \
        no-cc-grant
    interop_run "interop: private_key_jwt in an unregistered alg: invalid_client, HTTP 401" wrong-alg
    interop_run "interop: DPoP-bound client without DPoP: invalid_grant, HTTP 400" dpop-missing
    equal "interop: the server counted basic's invalid_client (wrong secret) once" \
        "$(interop_stat errors basic invalid_client)" 1
    equal "interop: the server counted basic's invalid_scope once" \
        "$(interop_stat errors basic invalid_scope)" 1
    equal "interop: the server counted no-cc-grant's invalid_request once" \
        "$(interop_stat errors no-cc-grant invalid_request)" 1
else
    fail "interop: start tests/interop/server.mjs (oidc-provider)"
fi
stop_interop

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

# `make install`: library, header and pkg-config file; a program built with pkg-config's flags
# against the installed copy runs.
prefix="$workdir/prefix"
if make -s -C "$ROOT" install PREFIX="$prefix" >"$workdir/install.log" 2>&1; then
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    # shellcheck disable=SC2046 # pkg-config's output is a list of flags
    if cc -std=c11 -Wall -Werror "$ROOT/examples/c/fetch_token.c" $(pkg-config --cflags --libs cctoken) \
        -Wl,-rpath,"$prefix/lib" -o "$workdir/installed_example" &&
        start_server && out=$("$workdir/installed_example") && stop_server; then
        equal "make install: pkg-config build of the example against the installed library" \
            "$out" "c: token fetches=1 cache hits=1000"
    else
        stop_server
        fail "make install: pkg-config build of the example against the installed library"
    fi
else
    cat "$workdir/install.log" >&2
    fail "make install PREFIX=..."
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
