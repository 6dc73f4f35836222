#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (nightly + cargo-fuzz, see .ci/run).
#
#   tools/fuzz.sh SECONDS            fuzz each target for SECONDS (`make fuzz`)
#   tools/fuzz.sh --replay SECONDS   first replay the committed corpus, then fuzz briefly (`make test`)
#
# The committed seeds (fuzz/corpus/<target>) are read, never written: new inputs go to
# fuzz/target/corpus/<target>, kept between runs. A crash fails the run; its input is in
# fuzz/artifacts/<target>/ (minimize with `cargo +nightly fuzz tmin -O <target> <file>`, then
# commit it to the corpus so `make test` replays it for good).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

replay=false
if [[ "${1:-}" == "--replay" ]]; then
    replay=true
    shift
fi
seconds=${1:-60}
read -r -a targets <<<"${FUZZ_TARGETS:-token_response discovery key_input ffi_config provider_input}"

cargo +nightly fuzz build -O
bin=target/x86_64-unknown-linux-gnu/release

summary=()
for t in "${targets[@]}"; do
    if $replay; then
        # -runs=0: execute every committed input once, no mutation.
        "$bin/$t" -runs=0 "corpus/$t" 2>"target/$t.replay.log" || {
            tail -n 40 "target/$t.replay.log" >&2
            echo "fuzz: $t: a committed corpus input fails" >&2
            exit 1
        }
    fi
    mkdir -p "target/corpus/$t" "artifacts/$t"
    log="target/$t.log"
    # -timeout: one input may take at most 10 s (a hang is a finding too).
    if ! "$bin/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" "target/corpus/$t" "corpus/$t" 2>"$log"; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -n 40 "$log" >&2
        echo "fuzz: $t: crash; input saved in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p' <<<"$done_line")
    summary+=("fuzz: $t: $execs executions in ${seconds}s, $cov")
done
printf '%s\n' "${summary[@]}"
echo "fuzz: ${#targets[@]} targets passed"
