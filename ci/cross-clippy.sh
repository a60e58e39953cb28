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

# Build scripts run for the target too, and `ring` (rustls's provider) compiles
# C and assembly for it: clang does, freestanding, against stand-in headers
# for what Linux lacks (ci/cross/include/README). The objects are never linked.
if ! command -v clang >/dev/null 2>&1; then
  echo "== installing clang (cross-target C for ring's build script)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang >/dev/null
fi
cross_cflags="-nostdinc -isystem $(clang -print-resource-dir)/include -isystem $PWD/ci/cross/include"

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
  env "CC_${target//-/_}=clang" "CFLAGS_${target//-/_}=$cross_cflags" \
    cargo clippy --quiet --workspace --all-targets --target "$target" -- -D warnings
done

# Windows: ci/windows.sh, which installs the mingw toolchain its C build
# scripts need, runs clippy and the tests there.
