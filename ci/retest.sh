#!/usr/bin/env bash
# Runs a `cargo test` command (its arguments) over every test binary; a test
# that fails is run once more, alone, and the job passes only if it passes
# then. Such a test is reported as FLAKY, loudly, to be fixed: CI hosts are
# slower and busier than a laptop (2 cores, instrumented builds), and one
# missed deadline should not hide the rest of the run. A sanitizer report, a
# failure without a named test, or a second failure fails the job.
#
#   ci/retest.sh cargo test --workspace
set -euo pipefail

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if "$@" --no-fail-fast 2>&1 | tee "$log"; then
  exit 0
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer' "$log"; then
  echo "FAILED: a sanitizer report (above)"
  exit 1
fi
tests="$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u)"
targets="$(sed -n 's/.*to rerun pass `\(.*\)`$/\1/p' "$log" | sort -u)"
if [[ -z "$tests" || -z "$targets" ]]; then
  echo "FAILED: the run failed without naming a failed test"
  exit 1
fi

# The command without its package and target selection, which each rerun
# replaces with the one target that failed.
base=()
skip_next=0
for arg in "$@"; do
  if ((skip_next)); then
    skip_next=0
  elif [[ "$arg" == -p || "$arg" == --package || "$arg" == --exclude ]]; then
    skip_next=1
  elif [[ "$arg" != --workspace && "$arg" != --lib && "$arg" != --tests ]]; then
    base+=("$arg")
  fi
done

echo "== rerunning, one at a time, the tests that failed:"
echo "$tests"
while read -r test; do
  # A name from another target matches nothing there and passes; the test
  # must really run (and pass) in one of them, or its failure stands.
  ran=0
  # A doctest ("path - item (line N)") cannot be named: rustdoc splits its
  # test arguments on whitespace. Its crate's doctests run again instead.
  doctest=0
  if [[ "$test" =~ \(line\ [0-9]+\)( - compile)?$ ]]; then
    doctest=1
  fi
  while read -r target; do
    filter=(--exact "$test")
    if ((doctest)); then
      [[ "$target" == *--doc* ]] || continue
      filter=()
    fi
    # shellcheck disable=SC2086
    if ! out="$("${base[@]}" $target -- "${filter[@]}" --test-threads=1 2>&1)"; then
      echo "$out"
      echo "FAILED: $test failed twice"
      exit 1
    fi
    if grep -qE 'test result: ok\. [1-9][0-9]* passed' <<<"$out"; then
      ran=1
    fi
  done <<<"$targets"
  if ((!ran)); then
    echo "FAILED: $test: its rerun ran no test (no target has it by that name)"
    exit 1
  fi
done <<<"$tests"
echo "FLAKY: failed once, passed alone (fix these):"
echo "$tests" | sed 's/^/FLAKY: /'
