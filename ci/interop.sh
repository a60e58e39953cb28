#!/usr/bin/env bash
# The interop features of issue 17, all off in the default build: tokio-io and
# futures-io (ringo-reactor's io::poll::PollIo under those crates' traits) and
# hyper (ringo-service's hyper hooks). `cargo test --workspace` sees `hyper` on
# only because ringo-benches enables it; this script turns every one on by name,
# so their lints, docs and tests run whatever the benches depend on.
set -euo pipefail
cd "$(dirname "$0")/.."

features="ringo-reactor/tokio-io,ringo-reactor/futures-io,ringo-service/hyper"
echo "== interop: clippy ($features)"
cargo clippy -p ringo-reactor -p ringo-service --all-targets --features "$features" -- -D warnings
echo "== interop: cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p ringo-reactor -p ringo-service --features "$features" --quiet
echo "== interop: tests (io_uring and compat)"
cargo test -p ringo-reactor --features tokio-io,futures-io --test poll_io
cargo test -p ringo-reactor --features tokio-io,futures-io --doc io::poll
cargo test -p ringo-service --features hyper --test hyper --test axum
