#!/usr/bin/env bash
# Installs the Debian packages the tests and the benchmark smoke run talk to
# (real peers: curl, redis-cli, redis-server, wrk, python3, openssl; nginx, a baseline),
# only when missing, so repeated runs cost nothing.
set -euo pipefail

needed=()
for tool in curl:curl python3:python3 nc:netcat-openbsd redis-cli:redis-tools redis-server:redis-server wrk:wrk nginx:nginx openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || needed+=("${tool#*:}")
done
if ((${#needed[@]})); then
  echo "== installing ${needed[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${needed[@]}" >/dev/null
fi
