#!/bin/bash
# User-space instructions per request of one server, exact and noise-free:
# the server runs under callgrind while a sequential client makes a fixed
# number of round trips, so the count does not depend on the machine's load
# (wall-clock figures on a shared VM move by +-10%; this moves by < 0.1%).
#
#   benches/scripts/callgrind.sh echo BIN [N] [CONNS]   # 64-byte echo round trips
#   benches/scripts/callgrind.sh http BIN [N] [CONNS]   # keep-alive GET /, 115-byte replies
#   benches/scripts/callgrind.sh resp BIN [N] [CONNS]   # RESP PING, PIPELINE (default 1) per round trip
#   benches/scripts/callgrind.sh file BIN [N] [CONNS]   # keep-alive GET URL_PATH (default /4k.bin)
#       of a static file server, e.g. static_http with SERVER_ARGS=/tmp/ringo-bench-static
#       (the runner writes that site)
#
# BIN takes its listen address as its first argument (the echo, hello_http and
# mini_redis examples, tokio_echo, hyper_hello, raw_uring [--http]); extra server
# arguments go in SERVER_ARGS, the driver in RINGO_DRIVER (default uring).
# Needs valgrind and python3. Prints requests, instructions, instructions/request.
set -euo pipefail
MODE=$1; BIN=$2; N=${3:-20000}; CONNS=${4:-1}
PORT=$((20000 + RANDOM % 20000))
OUT=$(mktemp -d)
RINGO_DRIVER=${RINGO_DRIVER:-uring} valgrind --tool=callgrind --callgrind-out-file="$OUT/cg" \
    "$BIN" "127.0.0.1:$PORT" ${SERVER_ARGS:-} > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill -9 $SERVER 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$OUT/cg.1" "$KEEP"; rm -rf "$OUT"' EXIT
for _ in $(seq 100); do
    grep -q "listening on" "$OUT/server.log" 2>/dev/null && break
    sleep 0.1
done
REQUESTS=$(python3 - "$MODE" "$PORT" "$N" "$CONNS" "${PIPELINE:-1}" "${URL_PATH:-/4k.bin}" <<'PY'
import re, socket, sys
mode, port, n, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
depth = int(sys.argv[5]) if mode == "resp" else 1
socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(conns)]
for s in socks:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if mode == "echo":
    request, done = b"x" * 64, lambda got: len(got) == 64
elif mode == "resp":
    request = b"*1\r\n$4\r\nPING\r\n" * depth
    done = lambda got: got.count(b"+PONG\r\n") == depth
elif mode == "file":
    request = b"GET " + sys.argv[6].encode() + b" HTTP/1.1\r\nHost: bench\r\nUser-Agent: ringo-benches\r\n\r\n"
    def done(got):
        head, sep, body = got.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        return sep and length and len(body) == int(length.group(1))
else:
    request = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: ringo-benches\r\n\r\n"
    done = lambda got: b"\r\n\r\n" in got and got.endswith(b"Hello, World!")
for _ in range(n):
    for s in socks:
        s.sendall(request)
    for s in socks:
        got = b""
        while not done(got):
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("server closed the connection")
            got += chunk
print(n * conns * depth)
PY
)
callgrind_control -d "$(pgrep -f "valgrind.bin.*$PORT")" > /dev/null 2>&1
sleep 1
IR=$(callgrind_annotate "$OUT/cg.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "requests=$REQUESTS instructions=$IR per_request=$((IR / REQUESTS))"
