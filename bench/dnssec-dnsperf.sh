#!/usr/bin/env bash
# DNSSEC throughput: dnsperf with DO=1 (dnsperf -D) against dane-ns (signing its zone itself, the default) and
# against Knot DNS signing the same zone (ECDSA P-256, NSEC), in the same run, on three workloads:
#   hit     every owner name and type of the zone (as bench/dnsperf.sh derives it)
#   mixed   bench/make-queries.mjs: 70 % existing, 20 % random nonexistent names, 10 % NODATA/TLSA
#   nx      only random nonexistent names (NXDOMAIN with NSEC proofs; unique names, no response cache can help)
# Prints q/s per server and workload, the ratios dane-ns/knot, and dane-ns's nx/hit ratio (the target: the
# nonexistent-name rate must not fall below 0.8x the hit rate, as random names get past every response cache).
#
# Same load as bench/dnsperf.sh: server pinned to CPU 0, dnsperf to the others, -c 1 -q 100, time-limited
# (dnsperf -l, and `timeout` around it); servers are stopped by PID on exit. Builds nothing: `npm run bench`
# builds first.
#
# Environment (all optional):
#   ZONE=example.com        zone to serve and query
#   ZONES_DIR=zones         dane-ns zones directory (YAML)
#   WORKLOADS="hit mixed nx"
#   DURATION=10             seconds of measured load per server and workload
#   WARMUP=2                seconds of unmeasured load first (per server and workload); 0 to skip
#   CLIENTS=1 OUTSTANDING=100 MODE=udp   dnsperf -c, -q, -m
#   NX_COUNT=300000 MIXED_COUNT=300000   query-file sizes
#   KNOT_UDP_WORKERS=1      Knot UDP worker threads (the comparison target assumes 1)
#   ONLY=                   "knot" or "dane-ns" to measure only one server
#   PIN=auto                with >= 2 CPUs pin the server to CPU 0 and dnsperf to the others; 0 = off
#   BENCH_CLI=dist/cli.js   dane-ns entry point
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ZONE=${ZONE:-example.com}
ZONE=${ZONE%.}
ZONES_DIR=${ZONES_DIR:-zones}
WORKLOADS=${WORKLOADS:-hit mixed nx}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-1}
OUTSTANDING=${OUTSTANDING:-100}
MODE=${MODE:-udp}
NX_COUNT=${NX_COUNT:-300000}
MIXED_COUNT=${MIXED_COUNT:-300000}
KNOT_UDP_WORKERS=${KNOT_UDP_WORKERS:-1}
ONLY=${ONLY:-}
PIN=${PIN:-auto}
BENCH_CLI=${BENCH_CLI:-dist/cli.js}

BENCH_NAME=dnssec-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
case "$ONLY" in '' | knot | dane-ns) ;; *) die "ONLY must be knot or dane-ns (got '$ONLY')" ;; esac
for v in DURATION WARMUP CLIENTS OUTSTANDING NX_COUNT MIXED_COUNT KNOT_UDP_WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$DURATION" -gt 0 ] || die "DURATION must be > 0"
for w in $WORKLOADS; do case "$w" in hit | mixed | nx) ;; *) die "unknown workload '$w' (hit, mixed, nx)" ;; esac; done
need dnsperf dnsperf
need kdig knot-dnsutils
need node nodejs
[ "$ONLY" = dane-ns ] || need knotd knot
[ -f "$BENCH_CLI" ] || die "$BENCH_CLI not found: run 'npm run build' (npm run bench does)"

bench_init dane-ns-dnssec-bench 30

pin_cpus

# --- zone text and query files ----------------------------------------------------------------------------------
node "$BENCH_CLI" zone export "$ZONE" --zones "$ZONES_DIR" --state "$TMP/export-state" >"$TMP/zone.txt" ||
  die "zone export $ZONE failed"

# hit: every owner name and type in the zone, wildcard owners instantiated (bench/lib.sh).
hit_queries "$TMP/zone.txt" >"$TMP/q-hit.txt"
[ -s "$TMP/q-hit.txt" ] || die "no queries derived from the zone"

node bench/make-queries.mjs "$ZONE" "$MIXED_COUNT" <"$TMP/zone.txt" >"$TMP/q-mixed.txt"

# nx: unique random single labels directly under the apex, spread over the whole NSEC chain (random first
# characters), none equal to a label that exists (or is an empty non-terminal) directly under the apex.
node - "$ZONE" "$NX_COUNT" <"$TMP/zone.txt" >"$TMP/q-nx.txt" <<'EOF'
const { readFileSync } = require('node:fs');
const [zone, countArg] = process.argv.slice(2);
const origin = `${zone.toLowerCase()}.`;
const taken = new Set();
for (const line of readFileSync(0, 'utf8').split('\n')) {
  const owner = line.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (!owner.endsWith(`.${origin}`)) continue;
  const rel = owner.slice(0, -origin.length - 1).split('.');
  taken.add(rel[rel.length - 1]);
}
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
let seed = 0x5eed1234;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const seen = new Set();
const out = [];
while (out.length < Number(countArg)) {
  let label = '';
  const len = 6 + Math.floor(rand() * 10);
  for (let i = 0; i < len; i++) label += alphabet[Math.floor(rand() * alphabet.length)];
  if (taken.has(label) || seen.has(label)) continue;
  seen.add(label);
  out.push(`${label}.${origin} ${rand() < 0.8 ? 'A' : 'AAAA'}`);
}
process.stdout.write(out.join('\n') + '\n');
EOF

# --- servers ----------------------------------------------------------------------------------------------------
# The servers, each signing the zone (ECDSA P-256, NSEC): start_knot_signed, start_dane_signed (bench/lib.sh).

# dnsperf -D for SECONDS against PORT with QUERIES; output to FILE. Bounded by `timeout`; run in the background
# and waited for, so a signal stops it at once (the EXIT trap kills it by PID).
run_dnsperf() { # port seconds queries file
  local args=(-s 127.0.0.1 -p "$1" -d "$3" -l "$2" -c "$CLIENTS" -q "$OUTSTANDING" -m "$MODE" -t 2 -D)
  local pid rc=0
  timeout -k 5 $(($2 + 30)) "${CLIENT_PIN[@]}" dnsperf "${args[@]}" >"$4" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  if [ "$rc" -ne 0 ]; then
    echo "dnssec-bench: dnsperf failed (exit $rc):" >&2
    cat "$4" >&2
    exit 1
  fi
}

declare -A QPS=()
measure() { # name start-function port
  local name=$1 start=$2 port=$3 w out qps lost codes
  "$start" "$port"
  # Sanity: a DO=1 answer carries signatures, a nonexistent name gets NXDOMAIN with NSEC proofs.
  kdig +dnssec +norec +timeout=2 +retry=0 @127.0.0.1 -p "$port" "bench-nx-probe.$ZONE." A 2>/dev/null |
    grep -q 'status: NXDOMAIN' || die "$name: no NXDOMAIN for bench-nx-probe.$ZONE."
  for w in $WORKLOADS; do
    out="$TMP/dnsperf-$name-$w.txt"
    [ "$WARMUP" -eq 0 ] || run_dnsperf "$port" "$WARMUP" "$TMP/q-$w.txt" "$TMP/warmup-$name-$w.txt"
    run_dnsperf "$port" "$DURATION" "$TMP/q-$w.txt" "$out"
    dnsperf_result "$out"
    qps=$DNSPERF_QPS lost=$DNSPERF_LOST codes=$DNSPERF_CODES
    [ -n "$qps" ] || { echo "dnssec-bench: no rate in dnsperf output for $name/$w:" >&2; cat "$out" >&2; exit 1; }
    printf '  %-8s %-6s %9.0f q/s  lost %-14s codes %s\n' "$name" "$w" "$qps" "$lost" "$codes" >&2
    QPS[$name/$w]=$qps
  done
  stop_pid "$SERVER_PID"
}

echo "dnssec-bench: zone $ZONE., DO=1 (dnsperf -D), workloads: $WORKLOADS ($(grep -c . "$TMP/q-hit.txt") hit," \
  "$MIXED_COUNT mixed, $NX_COUNT nx queries), $MODE, ${DURATION}s each (+${WARMUP}s warm-up)," \
  "dnsperf -c $CLIENTS -q $OUTSTANDING, knot udp-workers $KNOT_UDP_WORKERS (ECDSA P-256, NSEC)," \
  "pinning: ${SERVER_PIN[*]:-none} / ${CLIENT_PIN[*]:-none}" >&2

[ "$ONLY" = dane-ns ] || measure knot start_knot_signed "$(free_port)"
[ "$ONLY" = knot ] || measure dane-ns start_dane_signed "$(free_port)"

for w in $WORKLOADS; do
  k=${QPS[knot/$w]:-}
  d=${QPS[dane-ns/$w]:-}
  if [ -n "$k" ] && [ -n "$d" ]; then
    awk -v w="$w" -v d="$d" -v k="$k" \
      'BEGIN { printf "dnssec %s: knot %.0f q/s, dane-ns %.0f q/s, ratio %.2f (dane-ns/knot; target >= 0.60)\n", w, k, d, d / k }'
  else
    [ -z "$k" ] || printf 'dnssec %s: knot %.0f q/s\n' "$w" "$k"
    [ -z "$d" ] || printf 'dnssec %s: dane-ns %.0f q/s\n' "$w" "$d"
  fi
done
for name in dane-ns knot; do
  h=${QPS[$name/hit]:-}
  n=${QPS[$name/nx]:-}
  [ -n "$h" ] && [ -n "$n" ] || continue
  target=""
  [ "$name" != dane-ns ] || target=" (target >= 0.80)"
  awk -v s="$name" -v h="$h" -v n="$n" -v t="$target" \
    'BEGIN { printf "%s nonexistent/hit: %.0f / %.0f q/s = %.2f%s\n", s, n, h, n / h, t }'
done
