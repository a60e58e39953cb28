#!/usr/bin/env bash
# The project's test command: formatting, lints, and every test on both drivers.
# README.md names this script; .ci/run calls it. Installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install-deps.sh

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
ci/cross-clippy.sh
ci/windows.sh
ci/reliability.sh  # nightly: fuzz targets 30 s each, ASan suites, Miri (else SKIPPED lines)
echo "== benchmark smoke run (--quick: every server must answer correctly; no speed is asserted)"
cargo run --release --quiet -p ringo-benches -- --quick --out "${TMPDIR:-/tmp}/ringo-bench-smoke"
