#!/usr/bin/env bash
# UDP transport ceiling: what one Node thread can push through loopback with dgram (one libuv callback and one
# sendto per datagram) versus the experimental recvmmsg/sendmmsg addon in native/ (src/server/udp-batch.ts).
# No DNS code is involved: every server answers with the query echoed and QR set.
#
# Builds its own copy of the addon in a temp dir, with the measurement-only modes (node-gyp
# --udp_batch_measure=1, the UDP_BATCH_MEASURE define; the production build in native/build is left alone), and
# compiles src/server/udp-batch.ts there too; builds nothing else.
# Every load is time-limited (dnsperf -l, and `timeout` around it); servers are stopped by PID on exit.
#
# Servers measured (SERVERS, space separated, default all):
#   dgram          node:dgram echo                          (a: the ceiling the brief measured at ~50k q/s)
#   batch          addon, shared buffers, handler in JS     (b: the design udp-batch.ts uses)
#   batch-array    addon, a Buffer[] per batch in, an array of answers out (the alternative design; measurement build)
#   batch-native   addon, echo done in C, no JS call at all (the syscall ceiling; measurement build)
#   dgram-work / batch-work   as dgram / batch with a handler that spins WORK_NS ns per query (default 1600,
#                  the measured cost of dane-ns's JS path for a cache hit): a forecast for the real server
#
# Environment (all optional):
#   DURATION=5  WARMUP=1  CLIENTS=1  OUTSTANDING=100  BATCH=64  WORK_NS=1600  PIN=auto  SKIP_BUILD=0
# SKIP_BUILD=1 uses the production addon that `npm run build` left in native/build instead of building one: it has
# no measurement modes, so batch-array and batch-native leave the default SERVERS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CLIENTS=${CLIENTS:-1}
OUTSTANDING=${OUTSTANDING:-100}
BATCH=${BATCH:-64}
WORK_NS=${WORK_NS:-1600}
PIN=${PIN:-auto}
SKIP_BUILD=${SKIP_BUILD:-0}
if [ "$SKIP_BUILD" = 1 ]; then
  SERVERS=${SERVERS:-dgram batch dgram-work batch-work}
else
  SERVERS=${SERVERS:-dgram batch batch-array batch-native dgram-work batch-work}
fi

die() { echo "udp-ceiling: $*" >&2; exit 1; }
for v in DURATION WARMUP CLIENTS OUTSTANDING BATCH WORK_NS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
command -v dnsperf >/dev/null || die "missing dnsperf (Debian package dnsperf)"
command -v node >/dev/null || die "missing node"

SRV_PIN=() CLI_PIN=()
if [ "$PIN" != 0 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SRV_PIN=(taskset -c 0) CLI_PIN=(taskset -c "1-$(($(nproc) - 1))")
fi

TMP=$(mktemp -d /tmp/udp-ceiling.XXXXXX)
SRV_PID=
cleanup() {
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then kill "$SRV_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# ---- the addon and udp-batch.ts as JS, laid out as in the repository so its '../../native/...' path resolves ----
# node-gyp: from PATH, else the copy bundled with npm, else npx (downloads it). Node's headers: from the
# installation itself when it ships them (Debian's nodejs package, official tarballs), else node-gyp downloads.
node_gyp() {
  if command -v node-gyp >/dev/null; then node-gyp "$@"; return; fi
  local npm_gyp
  npm_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  if [ -f "$npm_gyp" ]; then node "$npm_gyp" "$@"; return; fi
  npx --yes node-gyp "$@"
}
mkdir -p "$TMP/app"
if [ "$SKIP_BUILD" != 1 ]; then
  NODE_PREFIX=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  GYP_ARGS=(--udp_batch_measure=1)
  [ -f "$NODE_PREFIX/include/node/node_api.h" ] && [ -f "$NODE_PREFIX/include/node/common.gypi" ] &&
    GYP_ARGS+=(--nodedir="$NODE_PREFIX")
  mkdir -p "$TMP/app/native"
  cp native/binding.gyp native/udp_batch.c "$TMP/app/native/"
  echo "building the measurement addon in $TMP/app/native (node-gyp rebuild ${GYP_ARGS[*]})" >&2
  (cd "$TMP/app/native" && node_gyp rebuild "${GYP_ARGS[@]}" >"$TMP/gyp.log" 2>&1) ||
    { cat "$TMP/gyp.log" >&2; die "addon build failed"; }
else
  [ -f native/build/Release/udp_batch.node ] || die "native/build/Release/udp_batch.node missing (npm run build)"
  ln -s "$ROOT/native" "$TMP/app/native"
fi
[ -f "$TMP/app/native/build/Release/udp_batch.node" ] || die "the addon is missing"

npx --no-install tsc --outDir "$TMP/app/src" --rootDir src --module NodeNext --moduleResolution NodeNext \
  --target ES2022 --strict --skipLibCheck --types node src/server/udp-batch.ts 2>&1 | grep -v 'npm warn' >&2 || true
[ -f "$TMP/app/src/server/udp-batch.js" ] || die "could not compile src/server/udp-batch.ts"
echo '{"type":"module"}' >"$TMP/app/package.json"

cat >"$TMP/app/server.mjs" <<'EOF'
// node server.mjs KIND WORK_NS BATCH: echo server on 127.0.0.1, prints its port, prints stats on SIGTERM.
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { listenUdpBatch } from './src/server/udp-batch.js';
const [kind, workArg, batchArg] = process.argv.slice(2);
const workMs = Number(workArg) / 1e6;
const spin = workMs > 0 ? () => { const end = performance.now() + workMs; while (performance.now() < end); } : () => {};
const work = kind.endsWith('-work');
let stats = () => '';
if (kind.startsWith('dgram')) {
  const s = createSocket('udp4');
  const onSent = () => {};
  s.on('message', (m, r) => { if (work) spin(); m[2] |= 0x80; s.send(m, r.port, r.address, onSent); });
  await new Promise((res) => s.bind(0, '127.0.0.1', res));
  try { s.setRecvBufferSize(4 << 20); s.setSendBufferSize(4 << 20); } catch {}
  console.log(s.address().port);
} else {
  const mode = kind === 'batch-array' ? 'array' : kind === 'batch-native' ? 'native' : 'shared';
  // Echo into a fresh buffer, like a real handler that builds its answer (the query view is reused).
  const handler = (q) => { if (work) spin(); const o = Buffer.allocUnsafe(q.length); o.set(q); o[2] |= 0x80; return o; };
  const l = await listenUdpBatch({ host: '127.0.0.1', port: 0, handler, mode, batch: Number(batchArg) });
  stats = () => { const st = l.stats(); return `batches=${st.batches} packets=${st.packets} avg_batch=${(st.packets / Math.max(1, st.batches)).toFixed(1)} send_dropped=${st.sendDropped} send_errors=${st.sendErrors}`; };
  console.log(l.address.port);
}
process.on('SIGTERM', () => { const t = stats(); if (t) console.error(t); process.exit(0); });
EOF

# ---- query file: the echo servers do not care what is asked ----
for i in $(seq 1 1000); do echo "host$i.example.com A"; done >"$TMP/queries"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime
TCK=$(getconf CLK_TCK)

run_dnsperf() { # port seconds -> dnsperf output
  timeout $(($2 + 15)) "${CLI_PIN[@]}" dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries" -l "$2" -c "$CLIENTS" \
    -q "$OUTSTANDING" 2>&1 || true
}

printf '%-14s %10s %6s %6s %8s  %s\n' server 'q/s' 'lost' 'cpu' 'ns/query' 'server stats' >"$TMP/table"
for kind in $SERVERS; do
  case "$kind" in dgram | batch | batch-array | batch-native | dgram-work | batch-work) ;; *) die "unknown server '$kind'" ;; esac
  "${SRV_PIN[@]}" node "$TMP/app/server.mjs" "$kind" "$WORK_NS" "$BATCH" >"$TMP/$kind.out" 2>"$TMP/$kind.err" &
  SRV_PID=$!
  for _ in $(seq 1 100); do [ -s "$TMP/$kind.out" ] && break; sleep 0.05; done
  port=$(head -1 "$TMP/$kind.out")
  [[ $port =~ ^[0-9]+$ ]] || { cat "$TMP/$kind.err" >&2; die "$kind did not start"; }
  [ "$WARMUP" -gt 0 ] && run_dnsperf "$port" "$WARMUP" >/dev/null
  t0=$(cpu_ticks "$SRV_PID")
  out=$(run_dnsperf "$port" "$DURATION")
  t1=$(cpu_ticks "$SRV_PID")
  kill -TERM "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  SRV_PID=
  qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  # Server CPU per answered query: the client (dnsperf, one socket) saturates first at these rates, so q/s alone
  # understates the faster servers; CPU per query is what sets the ceiling of a single server thread.
  read -r cpu nsq < <(awk -v d=$((t1 - t0)) -v tck="$TCK" -v dur="$DURATION" -v q="${qps:-0}" \
    'BEGIN { s = d / tck; printf "%.0f%% %s\n", 100 * s / dur, (q > 0 ? sprintf("%.0f", 1e9 * s / (q * dur)) : "?") }')
  printf '%-14s %10.0f %6s %6s %8s  %s\n' "$kind" "${qps:-0}" "${lost:-?}" "$cpu" "$nsq" \
    "$(tail -1 "$TMP/$kind.err" 2>/dev/null)" >>"$TMP/table"
  echo "$kind: ${qps:-?} q/s" >&2
done
echo
echo "dnsperf -l $DURATION -c $CLIENTS -q $OUTSTANDING, server ${SRV_PIN[*]:-unpinned}, client ${CLI_PIN[*]:-unpinned}, batch $BATCH, WORK_NS $WORK_NS"
cat "$TMP/table"
