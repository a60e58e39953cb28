#!/usr/bin/env bash
# Reliability jobs (issue 15), on nightly: every fuzz target for a fixed time
# on its checked-in corpus, the compat, reactor and proto test suites under
# AddressSanitizer, and Miri on the pure modules (timer wheel, op lifecycle,
# buffer slices, pool bookkeeping). The fault-injection soak is a test
# (benches/tests/soak.rs) that the workspace's `cargo test` runs.
#
# A machine without nightly prints one `SKIPPED: <job>: no nightly toolchain`
# line per job instead of passing quietly.
#
#   RINGO_FUZZ_SECONDS   seconds per fuzz target (default 30)
#   RINGO_RELIABILITY    jobs to run, space-separated (default "fuzz asan miri")
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds="${RINGO_FUZZ_SECONDS:-30}"
jobs="${RINGO_RELIABILITY:-fuzz asan miri}"

if rustup run nightly rustc --version >/dev/null 2>&1; then
  have_nightly=1
  host="$(rustup run nightly rustc -vV | sed -n 's/^host: //p')"
else
  have_nightly=0
fi

# Runs job $1 (the function rel_$1) unless nightly is missing.
job() {
  if ((have_nightly == 0)); then
    echo "SKIPPED: $1: no nightly toolchain"
    return
  fi
  local start=$SECONDS
  echo "== reliability: $1"
  "rel_$1"
  echo "== reliability: $1 took $((SECONDS - start)) s"
  # Under .ci/run, the job's build goes before the next one starts (ci/test.sh: disk).
  if [ "${RINGO_CI_PRUNE:-0}" = 1 ]; then
    rm -rf "$(build_dir "$1")"
  fi
}

# Where job $1 builds.
build_dir() {
  case "$1" in
    fuzz) echo fuzz/target ;;
    *) echo "target/$1" ;;
  esac
}

# Each target's new inputs go to fuzz/work/ (ignored), the checked-in seeds
# stay as they are. -malloc_limit_mb: no decoder may allocate far ahead of
# the (at most 4 KiB of) bytes it holds; a 4 MiB allocation is a finding.
rel_fuzz() {
  # A panic's backtrace would be symbolized under -malloc_limit_mb and be
  # reported as out-of-memory; the message and the saved input say enough.
  export RUST_BACKTRACE=0
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo +nightly install --quiet --locked cargo-fuzz
  fi
  (
    cd fuzz
    cargo +nightly fuzz build
    for target in $(cargo +nightly fuzz list); do
      echo "-- fuzz $target for ${fuzz_seconds} s"
      mkdir -p "work/$target"
      log="work/$target.log"
      if ! cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$fuzz_seconds" -max_len=4096 -malloc_limit_mb=4 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FAILED: fuzz $target (the input is in fuzz/artifacts/$target)"
        exit 1
      fi
      grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)' "$log" || true
    done
  )
}

# The three lower crates' unit and integration tests, instrumented; the
# explicit --target keeps build scripts and proc macros uninstrumented.
# Instrumented code runs several times slower, so a failed test gets one
# rerun alone (ci/retest.sh); a sanitizer report fails at once.
rel_asan() {
  RUSTFLAGS="-Zsanitizer=address" \
    ASAN_OPTIONS="detect_leaks=1" \
    LSAN_OPTIONS="suppressions=$PWD/ci/lsan.supp:print_suppressions=0" \
    ci/retest.sh cargo +nightly test --target "$host" --target-dir target/asan \
    -p ringo-compat -p ringo-reactor -p ringo-proto --lib --tests
}

# The pure modules under Miri; their tests scale their loops down under
# cfg(miri) so each finishes.
rel_miri() {
  if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "== installing miri"
    rustup component add --toolchain nightly miri rust-src
  fi
  cargo +nightly miri test -p ringo-reactor --lib -- time::wheel driver::lifecycle buf::
}

for name in $jobs; do
  job "$name"
done
