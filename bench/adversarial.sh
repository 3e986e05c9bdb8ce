#!/usr/bin/env bash
# Query shapes an attacker can choose, DO=1, dane-ns against Knot DNS serving the same zone (each signing it),
# measured with dnsperf in the same run: every shape as q/s and as a ratio to the server's own hit rate (target
# for dane-ns: >= 0.70). Then, dane-ns only, on a freshly started server: the hit rate after a flood of unique
# names and types against before it (target >= 0.90), and the UDP hit rate while one source (127.0.0.2) tries to
# hold 5,000 TCP connections against without (target >= 0.90).
#
# Shapes (bench/adversarial-queries.mjs writes them; "random": a unique name per query):
#   hit          every owner name and type of the zone       nx           random nonexistent names
#   types        random QTYPEs at the apex (NODATA)           wild         random names under a wildcard
#   wild-nodata  random names under a wildcard, absent type   referral     random names below a delegation
#   ds           DS at the delegation                         cname        a two-hop CNAME chain
#   any          ANY at the apex                              dnskey       DNSKEY
#   tc           an answer larger than 1232 octets (TC over UDP)
#
# Builds nothing: `npm run bench:adversarial` builds first. Every load is bounded in time (dnsperf -l, or -n 1
# over a file of FLOOD lines, and `timeout` around each); servers and the TCP holder are stopped by PID on exit.
#
# Environment (all optional):
#   SHAPES="hit nx ..."   the shapes to measure (default: all above; hit is always measured first)
#   DURATION=5            seconds of measured load per shape and server
#   WARMUP=1              seconds of unmeasured load per shape first; 0 to skip
#   COUNT=200000          lines of each random workload
#   FLOOD=100000          unique (name, type) queries of the flood
#   TCP_CONNS=5000        connections the TCP source tries to hold
#   CLIENTS=1 OUTSTANDING=100   dnsperf -c and -q
#   ONLY=                 "knot" or "dane-ns" to measure one server (the flood and TCP figures need dane-ns)
#   KNOT_UDP_WORKERS=1    Knot UDP worker threads
#   PIN=auto              with >= 2 CPUs pin the server to CPU 0 and dnsperf to the others (taskset); 0 = off
#   BENCH_CLI=dist/cli.js dane-ns entry point
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ALL_SHAPES="hit nx types wild wild-nodata referral ds cname any dnskey tc"
SHAPES=${SHAPES:-$ALL_SHAPES}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
COUNT=${COUNT:-200000}
FLOOD=${FLOOD:-100000}
TCP_CONNS=${TCP_CONNS:-5000}
CLIENTS=${CLIENTS:-1}
OUTSTANDING=${OUTSTANDING:-100}
ONLY=${ONLY:-}
KNOT_UDP_WORKERS=${KNOT_UDP_WORKERS:-1}
PIN=${PIN:-auto}
BENCH_CLI=${BENCH_CLI:-dist/cli.js}
ZONE=adversarial.test

BENCH_NAME=adversarial
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

case "$ONLY" in '' | knot | dane-ns) ;; *) die "ONLY must be knot or dane-ns (got '$ONLY')" ;; esac
for v in DURATION WARMUP COUNT FLOOD TCP_CONNS CLIENTS OUTSTANDING KNOT_UDP_WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$DURATION" -gt 0 ] || die "DURATION must be > 0"
for s in $SHAPES; do [[ " $ALL_SHAPES " == *" $s "* ]] || die "unknown shape '$s' ($ALL_SHAPES)"; done
[[ " $SHAPES " == *" hit "* ]] || SHAPES="hit $SHAPES"
need dnsperf dnsperf
need kdig knot-dnsutils
need node nodejs
[ "$ONLY" = dane-ns ] || need knotd knot
[ -f "$BENCH_CLI" ] || die "$BENCH_CLI not found: run 'npm run build' (npm run bench:adversarial does)"

bench_init dane-ns-adversarial 30
pin_cpus

# --- the zone: one of every shape ------------------------------------------------------------------------------
ZONES_DIR=$TMP/zones
mkdir -p "$ZONES_DIR"
{
  cat <<EOF
origin: $ZONE.
ttl: 3600
soa: { mname: ns1, rname: hostmaster, serial: 1, minimum: 300 }
records:
  "@":
    NS: [ns1, ns2]
    MX: 10 mail
    A: 192.0.2.1
    AAAA: 2001:db8::1
    TXT: v=spf1 mx -all
  ns1:
    A: 192.0.2.53
  ns2:
    A: 192.0.2.54
  mail:
    A: 192.0.2.25
  www:
    CNAME: "@"
  chain:
    CNAME: www
  "*.apps":
    A: 192.0.2.80
    TXT: wildcard
  sub:
    NS: [ns1.sub, ns.example.net.]
    DS: 12345 13 2 3F1B2C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809
  ns1.sub:
    A: 192.0.2.60
  big:
    TXT:
EOF
  for i in $(seq 1 12); do printf '      - "%s %02d"\n' "$(printf 'x%.0s' $(seq 1 120))" "$i"; done
} >"$ZONES_DIR/$ZONE.yaml"
node "$BENCH_CLI" zone export "$ZONE" --zones "$ZONES_DIR" --state "$TMP/export-state" >"$TMP/zone.txt" ||
  die "zone export $ZONE failed"

hit_queries "$TMP/zone.txt" >"$TMP/q-hit.txt"
for s in $SHAPES flood; do
  [ "$s" = hit ] && continue
  n=$COUNT
  [ "$s" != flood ] || n=$FLOOD
  node bench/adversarial-queries.mjs "$s" "$ZONE" "$n" >"$TMP/q-$s.txt"
done

# dnsperf -D against PORT with QUERIES, output to FILE, for SECONDS (or once through the file: SECONDS "once").
# Bounded by `timeout`; run in the background and waited for, so a signal stops it at once.
run_dnsperf() { # port seconds|once queries file
  local args=(-s 127.0.0.1 -p "$1" -d "$3" -c "$CLIENTS" -q "$OUTSTANDING" -m udp -t 2 -D) limit=$2 pid rc=0
  if [ "$2" = once ]; then args+=(-n 1) && limit=120; else args+=(-l "$2"); fi
  timeout -k 5 $((limit + 30)) "${CLIENT_PIN[@]}" dnsperf "${args[@]}" >"$4" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  [ "$rc" -eq 0 ] || { echo "adversarial: dnsperf failed (exit $rc):" >&2; cat "$4" >&2; exit 1; }
}

declare -A QPS=()
# One measured run of WORKLOAD for NAME, recorded as QPS[NAME/LABEL] (warm-up first when asked).
measure_one() { # name port workload label
  local out="$TMP/dnsperf-$1-$4.txt"
  [ "$WARMUP" -eq 0 ] || run_dnsperf "$2" "$WARMUP" "$TMP/q-$3.txt" "$TMP/warmup-$1-$4.txt"
  run_dnsperf "$2" "$DURATION" "$TMP/q-$3.txt" "$out"
  dnsperf_result "$out"
  [ -n "$DNSPERF_QPS" ] || { echo "adversarial: no rate in dnsperf output for $1/$4:" >&2; cat "$out" >&2; exit 1; }
  printf '  %-8s %-12s %9.0f q/s  lost %-14s codes %s\n' "$1" "$4" "$DNSPERF_QPS" "$DNSPERF_LOST" "$DNSPERF_CODES" >&2
  QPS[$1/$4]=$DNSPERF_QPS
}

measure_shapes() { # name start-function
  local port s
  port=$(free_port)
  "$2" "$port"
  for s in $SHAPES; do measure_one "$1" "$port" "$s" "$s"; done
  stop_pid "$SERVER_PID"
}

# dane-ns, started afresh: hit before, the flood once through, hit after; then hit while TCP_CONNS connections
# from 127.0.0.2 are held open.
measure_pressure() {
  local port hold
  port=$(free_port)
  start_dane_signed "$port"
  measure_one dane-ns "$port" hit hit-before
  run_dnsperf "$port" once "$TMP/q-flood.txt" "$TMP/dnsperf-flood.txt"
  dnsperf_result "$TMP/dnsperf-flood.txt"
  printf '  %-8s %-12s %9.0f q/s  (%s unique queries, once)\n' dane-ns flood "${DNSPERF_QPS:-0}" "$FLOOD" >&2
  measure_one dane-ns "$port" hit hit-after-flood
  # On the load generator's CPUs, as dnsperf: the holder must not take the server's CPU.
  timeout -k 5 $((WARMUP + DURATION + 90)) "${CLIENT_PIN[@]}" node bench/tcp-hold.mjs "$port" 127.0.0.2 "$TCP_CONNS" \
    $((WARMUP + DURATION + 2)) 2>"$TMP/tcp-hold.txt" &
  hold=$!
  PIDS+=("$hold")
  for _ in $(seq 1 600); do grep -q 'connections open' "$TMP/tcp-hold.txt" && break; sleep 0.1; done
  grep -q 'connections open' "$TMP/tcp-hold.txt" || die "the TCP holder did not connect: $(cat "$TMP/tcp-hold.txt")"
  printf '  %s\n' "$(cat "$TMP/tcp-hold.txt")" >&2
  measure_one dane-ns "$port" hit hit-during-tcp
  wait "$hold" || true
  forget_pid "$hold"
  stop_pid "$SERVER_PID"
}

echo "adversarial: zone $ZONE., DO=1 (dnsperf -D), shapes: $SHAPES; $COUNT lines per random workload," \
  "${DURATION}s each (+${WARMUP}s warm-up), dnsperf -c $CLIENTS -q $OUTSTANDING, knot udp-workers" \
  "$KNOT_UDP_WORKERS, pinning: ${SERVER_PIN[*]:-none} / ${CLIENT_PIN[*]:-none}; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

[ "$ONLY" = dane-ns ] || measure_shapes knot start_knot_signed
[ "$ONLY" = knot ] || measure_shapes dane-ns start_dane_signed
[ "$ONLY" = knot ] || measure_pressure

printf '%-12s %12s %10s %12s %10s\n' shape dane-ns '/hit' knot '/hit'
for s in $SHAPES; do
  awk -v s="$s" -v d="${QPS[dane-ns/$s]:-}" -v dh="${QPS[dane-ns/hit]:-}" -v k="${QPS[knot/$s]:-}" \
    -v kh="${QPS[knot/hit]:-}" 'function f(x) { return x == "" ? "-" : sprintf("%.0f", x) }
    function r(x, h) { return x == "" || h == "" ? "-" : sprintf("%.2f", x / h) }
    BEGIN { printf "%-12s %12s %10s %12s %10s%s\n", s, f(d), r(d, dh), f(k), r(k, kh),
      (d != "" && dh != "" && d / dh < 0.695) ? "   below 0.70" : "" }'
done
if [ "$ONLY" != knot ]; then
  awk -v b="${QPS[dane-ns/hit-before]}" -v a="${QPS[dane-ns/hit-after-flood]}" -v t="${QPS[dane-ns/hit-during-tcp]}" \
    -v n="$FLOOD" -v c="$TCP_CONNS" 'BEGIN {
      printf "dane-ns hit after a flood of %d unique names and types: %.0f / %.0f q/s = %.2f (target >= 0.90)\n", n, a, b, a / b
      printf "dane-ns UDP hit rate while 127.0.0.2 tries to hold %d TCP connections: %.0f / %.0f q/s = %.2f (target >= 0.90)\n", c, t, b, t / b }'
fi
