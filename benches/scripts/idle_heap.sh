#!/bin/bash
# Live heap per idle keep-alive connection of one server, exact: the server
# runs under massif; N connections each make one real request and idle, then
# N more; a heap snapshot after each batch (once the server has had time to
# free what an idle connection does not need) gives (after - before) / N,
# allocator overhead included. The `--idle` cell's RSS growth measures the
# same with pages, where memory freed by the first batch is reused by the
# second; this counts what each idle connection holds.
#
#   benches/scripts/idle_heap.sh http BIN [N]   # GET / (hello_http, hyper_hello)
#   benches/scripts/idle_heap.sh resp BIN [N]   # RESP SET (mini_redis)
#
# BIN takes its listen address as its first argument; server arguments go in
# SERVER_ARGS (default `--workers 1`: one runtime, as valgrind runs one thread
# at a time), the driver in RINGO_DRIVER (default uring). Needs valgrind and
# python3. Prints the two heaps and the bytes per connection.
set -euo pipefail
MODE=$1; BIN=$2; N=${3:-1000}
PORT=$((20000 + RANDOM % 20000))
OUT=$(mktemp -d)
ulimit -n "$(ulimit -Hn)"
RINGO_DRIVER=${RINGO_DRIVER:-uring} valgrind --tool=massif --vgdb=yes \
    --massif-out-file="$OUT/massif" "$BIN" "127.0.0.1:$PORT" ${SERVER_ARGS:---workers 1} \
    > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill -9 $SERVER 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 300); do
    grep -q "listening on" "$OUT/server.log" 2>/dev/null && break
    sleep 0.1
done
python3 - "$MODE" "$PORT" "$N" "$SERVER" "$OUT" <<'PY'
import re, socket, subprocess, sys, time
mode, port, n, pid, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
if mode == "resp":
    request, done = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", lambda got: got == b"+OK\r\n"
else:
    request = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: ringo-benches\r\n\r\n"
    done = lambda got: b"\r\n\r\n" in got and got.endswith(b"Hello, World!")

def open_idle(count):
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(request)
        got = b""
        while not done(got):
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("server closed the connection")
            got += chunk
        socks.append(s)
    return socks

def heap(name):
    # Past a parking server's 250-500 ms, at valgrind's pace.
    time.sleep(3)
    path = f"{out}/{name}"
    subprocess.run(["vgdb", f"--pid={pid}", "snapshot", path], check=True, capture_output=True)
    text = open(path).read()
    return sum(int(v) for v in re.findall(r"mem_heap(?:_extra)?_B=(\d+)", text))

first = open_idle(n)
before = heap("before")
second = open_idle(n)
after = heap("after")
print(f"connections={n} heap_before={before} heap_after={after} per_connection={(after - before) / n:.0f}")
PY
