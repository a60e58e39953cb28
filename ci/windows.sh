#!/usr/bin/env bash
# Windows under Wine: installs Wine and the mingw linker, prepares a Wine
# prefix with the ProcessPrng shim (Wine 8 lacks it and Rust's std needs it
# before main), proves the harness with a std-only smoke crate, then runs
# clippy and the workspace's tests for x86_64-pc-windows-gnu. Anything that cannot run prints one loud
# "SKIPPED: x86_64-pc-windows-gnu: <reason>" line; it never passes quietly.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
skip() {
  echo "SKIPPED: $target: $*"
  exit 0
}

# The toolchain: Debian's wine (8.x) and mingw-w64, and Rust's std for the target.
needed=()
command -v wine >/dev/null 2>&1 || needed+=(wine wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || needed+=(gcc-mingw-w64-x86-64)
if ((${#needed[@]})); then
  echo "== installing ${needed[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${needed[@]}" >/dev/null; } || skip "cannot install ${needed[*]} with apt-get"
fi
rustup target list --installed 2>/dev/null | grep -qx "$target" ||
  rustup target add "$target" >/dev/null 2>&1 ||
  skip "its standard library cannot be installed (rustup target add $target failed)"

# The Wine prefix, made once, with the shim as a native DLL that wins over
# Wine's built-in bcryptprimitives (which has no ProcessPrng in Wine 8).
export WINEPREFIX="${WINEPREFIX:-$HOME/.wine-ringo}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml="
system32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -f "$system32/kernel32.dll" ]; then
  echo "== creating the Wine prefix $WINEPREFIX"
  wineboot --init >/dev/null 2>&1 || skip "wineboot could not create $WINEPREFIX"
  wineserver --wait || true
fi
# One wineserver for the whole run: by default it exits a few seconds after
# its last client, and a test binary started just then loses it ("wine client
# error: recvmsg: Connection reset by peer") and dies without a test's name.
wineserver -p
trap 'wineserver -k 2>/dev/null || true' EXIT
shim="$system32/bcryptprimitives.dll"
if [ ! -f "$shim" ] || [ ci/windows/process_prng.c -nt "$shim" ]; then
  echo "== building the ProcessPrng shim into $shim"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$shim" \
    ci/windows/process_prng.c ci/windows/process_prng.def -ladvapi32
fi

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine

# The harness itself: a std-only test binary starts and talks TCP on loopback.
echo "== Wine smoke test (std only: the shim, threads, loopback TCP)"
CARGO_TARGET_DIR="$PWD/target/wine-smoke" \
  cargo test --quiet --manifest-path ci/windows/smoke/Cargo.toml --target "$target"

# The workspace, on the compat driver (IOCP/AFD through mio). The benchmark
# runner is left out: it is Linux tooling (it reads /proc, pins CPUs and
# starts nginx and redis-server), as in the macOS and Windows CI jobs.
export CARGO_TARGET_DIR="$PWD/target/cross"
echo "== cargo clippy --target $target"
cargo clippy --quiet --workspace --exclude ringo-benches --all-targets --target "$target" -- -D warnings
echo "== cargo test --workspace --target $target (compat driver, under Wine)"
ci/retest.sh cargo test --workspace --exclude ringo-benches --target "$target"
