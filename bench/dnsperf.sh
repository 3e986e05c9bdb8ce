#!/usr/bin/env bash
# Throughput of dane-ns against Knot DNS serving the same zone, measured with dnsperf in the same run.
#
# Builds nothing: `npm run bench` builds first. Run from anywhere; paths are relative to the repository root.
# Every load is time-limited (dnsperf -l, and `timeout` around it); servers are stopped by PID on exit.
#
# Environment (all optional):
#   ZONE=example.com        zone to serve and query
#   ZONES_DIR=zones         dane-ns zones directory (YAML)
#   ZONE_FILE=              RFC 1035 file to use instead of `dane-ns zone export` (lets ONLY=knot run unbuilt)
#   QUERY_FILE=             dnsperf query file to use instead of the "hit" workload derived from the zone
#   DURATION=10             seconds of measured load per server
#   WARMUP=2                seconds of unmeasured load per server first (JIT, caches); 0 to skip
#   CLIENTS=1               dnsperf -c
#   OUTSTANDING=100         dnsperf -q (max queries in flight)
#   THREADS=                dnsperf -T (default: dnsperf's own)
#   MAX_QPS=                dnsperf -Q (default: unlimited)
#   MODE=udp                dnsperf -m (udp or tcp)
#   ONLY=                   "knot" or "dane-ns" to measure only one server (no ratio)
#   KNOT_UDP_WORKERS=1      Knot UDP worker threads (the comparison target assumes 1)
#   PIN=auto                with >= 2 CPUs pin the server to CPU 0 and dnsperf to the others (taskset); 0 = off
#   KEYS_DIR=               dane-ns keys directory (default: empty temp dir)
#   BENCH_CLI=dist/cli.js   dane-ns entry point
#   KNOT_PORT= DANE_PORT=   loopback ports (default: picked free)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ZONE=${ZONE:-example.com}
ZONE=${ZONE%.}
ZONES_DIR=${ZONES_DIR:-zones}
ZONE_FILE=${ZONE_FILE:-}
QUERY_FILE=${QUERY_FILE:-}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-1}
OUTSTANDING=${OUTSTANDING:-100}
THREADS=${THREADS:-}
MAX_QPS=${MAX_QPS:-}
MODE=${MODE:-udp}
ONLY=${ONLY:-}
KNOT_UDP_WORKERS=${KNOT_UDP_WORKERS:-1}
PIN=${PIN:-auto}
KEYS_DIR=${KEYS_DIR:-}
BENCH_CLI=${BENCH_CLI:-dist/cli.js}
KNOT_PORT=${KNOT_PORT:-}
DANE_PORT=${DANE_PORT:-}

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

case "$ONLY" in '' | knot | dane-ns) ;; *) die "ONLY must be knot or dane-ns (got '$ONLY')" ;; esac
for v in DURATION WARMUP CLIENTS OUTSTANDING KNOT_UDP_WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$DURATION" -gt 0 ] || die "DURATION must be > 0"

need dnsperf dnsperf
need kdig knot-dnsutils
need node nodejs
[ "$ONLY" = dane-ns ] || need knotd knot
if [ "$ONLY" != knot ] || [ -z "$ZONE_FILE" ]; then
  [ -f "$BENCH_CLI" ] || die "$BENCH_CLI not found: run 'npm run build' (npm run bench does), or ONLY=knot ZONE_FILE=..."
fi

bench_init dane-ns-bench 30

pin_cpus

# --- zone text and query file --------------------------------------------------------------------------------
if [ -n "$ZONE_FILE" ]; then
  cp "$ZONE_FILE" "$TMP/zone.txt"
else
  node "$BENCH_CLI" zone export "$ZONE" --zones "$ZONES_DIR" >"$TMP/zone.txt" || die "zone export $ZONE failed"
fi

if [ -n "$QUERY_FILE" ]; then
  cp "$QUERY_FILE" "$TMP/queries.txt"
else
  # "hit" workload: every owner name and type present in the zone (bench/lib.sh).
  hit_queries "$TMP/zone.txt" >"$TMP/queries.txt"
fi
NQ=$(grep -c . "$TMP/queries.txt" || true)
[ "$NQ" -gt 0 ] || die "no queries derived from the zone (is $ZONE exported with absolute owner names?)"

wait_ready() { # name port pid log
  local name=$1 port=$2 pid=$3 log=$4 i
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { echo "bench: $name exited during start:" >&2; cat "$log" >&2; exit 1; }
    if kdig +short +norec +timeout=1 +retry=0 @127.0.0.1 -p "$port" "$ZONE." SOA 2>/dev/null | grep -q .; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: $name did not answer SOA $ZONE. on port $port within 15 s:" >&2
  cat "$log" >&2
  exit 1
}

start_knot() {
  local port=$1 dir="$TMP/knot"
  mkdir -p "$dir/run" "$dir/db" "$dir/zones"
  { echo "\$ORIGIN $ZONE."; cat "$TMP/zone.txt"; } >"$dir/zones/zone.txt"
  cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir/run"
    pidfile: "$dir/run/knot.pid"
    udp-workers: $KNOT_UDP_WORKERS
    tcp-workers: 1
    background-workers: 1
    listen: 127.0.0.1@$port
database:
    storage: "$dir/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$dir/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: "$ZONE."
    file: "$dir/zones/zone.txt"
EOF
  "${SERVER_PIN[@]}" "$(tool knotd)" -c "$dir/knot.conf" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready knot "$port" "$SERVER_PID" "$dir/log"
}

start_dane() {
  local port=$1 dir="$TMP/dane-ns"
  mkdir -p "$dir/state" "$dir/keys"
  "${SERVER_PIN[@]}" node "${SERVE_NODE_FLAGS[@]}" "$BENCH_CLI" serve --zones "$ZONES_DIR" --state "$dir/state" \
    --keys "${KEYS_DIR:-$dir/keys}" --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_ready dane-ns "$port" "$SERVER_PID" "$dir/log"
}

# dnsperf for SECONDS against PORT; output to FILE. Bounded by `timeout` in case dnsperf hangs; run in the
# background and waited for, so a signal to this script stops it at once (the EXIT trap kills it by PID).
run_dnsperf() { # port seconds file
  local args=(-s 127.0.0.1 -p "$1" -d "$TMP/queries.txt" -l "$2" -c "$CLIENTS" -q "$OUTSTANDING" -m "$MODE" -t 2)
  local pid rc=0 keep=() p
  [ -z "$THREADS" ] || args+=(-T "$THREADS")
  [ -z "$MAX_QPS" ] || args+=(-Q "$MAX_QPS")
  timeout -k 5 $(($2 + 30)) "${CLIENT_PIN[@]}" dnsperf "${args[@]}" >"$3" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
  if [ "$rc" -ne 0 ]; then
    echo "bench: dnsperf failed (exit $rc):" >&2
    cat "$3" >&2
    exit 1
  fi
}

QPS_knot=""
QPS_dane=""
measure() { # name start-function port
  local name=$1 start=$2 port=$3 out="$TMP/dnsperf-$1.txt" qps lost codes
  "$start" "$port"
  [ "$WARMUP" -eq 0 ] || run_dnsperf "$port" "$WARMUP" "$TMP/warmup-$name.txt"
  run_dnsperf "$port" "$DURATION" "$out"
  stop_pid "$SERVER_PID"
  dnsperf_result "$out"
  qps=$DNSPERF_QPS lost=$DNSPERF_LOST codes=$DNSPERF_CODES
  [ -n "$qps" ] || { echo "bench: no rate in dnsperf output for $name:" >&2; cat "$out" >&2; exit 1; }
  printf '  %-8s port %-5s lost %-14s codes %s\n' "$name" "$port" "$lost" "$codes" >&2
  if [ "$name" = knot ]; then QPS_knot=$qps; else QPS_dane=$qps; fi
}

echo "bench: zone $ZONE., $NQ distinct queries, $MODE, ${DURATION}s each (+${WARMUP}s warm-up)," \
  "dnsperf -c $CLIENTS -q $OUTSTANDING${THREADS:+ -T $THREADS}${MAX_QPS:+ -Q $MAX_QPS}," \
  "knot udp-workers $KNOT_UDP_WORKERS, pinning: ${SERVER_PIN[*]:-none} / ${CLIENT_PIN[*]:-none}" >&2

if [ "$ONLY" != dane-ns ]; then
  measure knot start_knot "${KNOT_PORT:-$(free_port)}"
fi
if [ "$ONLY" != knot ]; then
  measure dane-ns start_dane "${DANE_PORT:-$(free_port)}"
fi

[ -z "$QPS_knot" ] || printf 'knot: %.0f q/s\n' "$QPS_knot"
[ -z "$QPS_dane" ] || printf 'dane-ns: %.0f q/s\n' "$QPS_dane"
if [ -n "$QPS_knot" ] && [ -n "$QPS_dane" ]; then
  awk -v d="$QPS_dane" -v k="$QPS_knot" 'BEGIN { printf "ratio: %.2f (dane-ns/knot; target >= 0.60)\n", d / k }'
fi
