#!/usr/bin/env bash
# ThreadSanitizer over tests/tsan (`make tsan`): builds the stress program and a deliberate
# data race with -Zsanitizer=thread, std included (-Zbuild-std; an uninstrumented std gives
# false reports), then
#   1. runs the race program, which TSan MUST report (else TSan is silent and proves nothing),
#   2. runs the mixed Rust / C ABI stress for SECONDS (default 20), which must report nothing.
# Needs the nightly toolchain with rust-src and the dev server build (target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-20}
triple=x86_64-unknown-linux-gnu
start=$SECONDS

(
    cd tests/tsan
    # RUSTFLAGS with an explicit --target: build scripts and proc macros stay uninstrumented.
    RUSTFLAGS="-Zsanitizer=thread" cargo +nightly build --quiet --release -Zbuild-std --target "$triple"
)
bin=tests/tsan/target/$triple/release
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# 1. The self-check: a known race must be reported, with TSan's exit code.
rc=0
TSAN_OPTIONS="exitcode=66" "$bin/race" >"$log" 2>&1 || rc=$?
if [[ $rc -ne 66 ]] || ! grep -q "WARNING: ThreadSanitizer: data race" "$log"; then
    cat "$log" >&2
    echo "tsan: the deliberate race was NOT reported (exit $rc): ThreadSanitizer is not working" >&2
    exit 1
fi
echo "tsan: self-check: the deliberate race was reported"

# 2. The stress: any report fails it.
export CCTOKEN_DEV_SERVER=${CCTOKEN_DEV_SERVER:-$root/target/debug/cctoken-dev-server}
rc=0
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" "$bin/cctoken-tsan" "$seconds" >"$log" 2>&1 || rc=$?
cat "$log"
if [[ $rc -ne 0 ]]; then
    echo "tsan: the stress failed (exit $rc; 66 = a ThreadSanitizer report above)" >&2
    exit 1
fi
if grep -q "ThreadSanitizer" "$log"; then
    echo "tsan: ThreadSanitizer printed a report" >&2
    exit 1
fi
echo "tsan: no data race in the stress; make tsan took $((SECONDS - start)) s"
