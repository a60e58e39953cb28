#!/usr/bin/env bash
# The project's test command: formatting, lints, and every test on both drivers.
# README.md names this script; .ci/run calls it. Installs what the tests need.
#
# Disk: a full run builds the workspace five ways (debug, cross-target checks,
# AddressSanitizer, fuzzing, release), tens of GB with full debug info. A
# fresh clone never reuses incremental state, and line tables are enough for
# backtraces and ASan reports, so both are off here. With RINGO_CI_PRUNE=1
# (.ci/run sets it) each build's directory is removed once nothing later
# needs it, so the peak is one build, not the sum; a developer's own
# target/debug is never touched otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
export CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-line-tables-only}"

# Removes build directories no later step reads, when pruning is asked for.
prune() {
  [ "${RINGO_CI_PRUNE:-0}" = 1 ] || return 0
  rm -rf "$@"
  echo "-- pruned $* ($(df -h --output=avail . | tail -1 | tr -d ' ') free)"
}

ci/install-deps.sh
echo "-- disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
echo "== cargo test (io_uring and compat; a failed test is rerun once, alone)"
ci/retest.sh cargo test --workspace
ci/tls.sh
ci/interop.sh
prune target/debug target/doc
ci/cross-clippy.sh
ci/windows.sh
prune target/cross target/wine-smoke
ci/reliability.sh  # nightly: fuzz targets 30 s each, ASan suites, Miri (else SKIPPED lines)
echo "== benchmark smoke run (--quick: every server must answer correctly; no speed is asserted)"
cargo run --release --quiet -p ringo-benches -- --quick --out "${TMPDIR:-/tmp}/ringo-bench-smoke"
