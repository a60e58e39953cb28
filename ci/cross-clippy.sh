#!/usr/bin/env bash
# Cross-target clippy: the workspace, every target (tests, examples, benches),
# with -D warnings, for the platforms ringo promises besides Linux. Nothing
# links or runs here; that is what the macOS and Windows CI jobs are for.
# A target whose standard library cannot be installed prints one loud
# "SKIPPED: <target>: <reason>" line and the script goes on; it never passes
# quietly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Separate target dir: cross builds never invalidate the host build's cache.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/cross"

unix_targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)
windows_target=x86_64-pc-windows-gnu

has_std() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" ||
    rustup target add "$1" >/dev/null 2>&1
}

for target in "${unix_targets[@]}"; do
  if ! has_std "$target"; then
    echo "SKIPPED: $target: its standard library cannot be installed (rustup target add $target failed)"
    continue
  fi
  echo "== cargo clippy --target $target"
  cargo clippy --quiet --workspace --all-targets --target "$target" -- -D warnings
done

# Windows: the compat driver is built on Unix fds (ringo-compat registers raw
# fds with mio, which Windows' mio cannot do), so the workspace does not build
# for Windows yet; see README "Platforms". Say so instead of passing.
echo "SKIPPED: $windows_target: ringo does not build for Windows yet (compat registers raw Unix fds; README, Platforms)"
