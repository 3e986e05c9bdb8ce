#!/usr/bin/env bash
# Load + sign time and peak memory for a large generated zone (bench/gen-zone.mjs), dane-ns against Knot DNS
# signing the same zone (ECDSA P-256, NSEC) from fresh key directories.
#
#   dane-ns: wall time from process start to its `listening` log line (load + key generation + signing), the
#            `zone-signed` ms it logs, and VmHWM (peak RSS) from /proc/PID/status right after `listening`.
#   knotd:   wall time from process start until `SOA +dnssec` is answered with an RRSIG (the zone is signed and
#            served), and VmHWM of knotd at that point.
# Neither server is pinned to a CPU here: Knot runs with its default worker settings (printed) on all CPUs.
#
# Builds nothing: run `npm run build` first (npm run bench does). Every wait is bounded (SIGN_TIMEOUT); servers
# are stopped by PID on exit.
#
# Environment (all optional):
#   NAMES=100000            host names in the generated zone
#   ZONE=bench.example      generated zone's name
#   SIGN_TIMEOUT=600        seconds to wait for each server to be signed and serving
#   KNOT_SIGNING_THREADS=   Knot policy `signing-threads` (default: Knot's own default, 1)
#   KNOT_BG_WORKERS=        Knot `background-workers` (default: Knot's own, auto from the CPU count)
#   CPU_PROF=               directory: also write a V8 CPU profile of the dane-ns start there and print the top
#                           functions by self time
#   ONLY=                   "knot" or "dane-ns" to measure only one server (no ratios)
#   BENCH_CLI=dist/cli.js   dane-ns entry point
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NAMES=${NAMES:-100000}
ZONE=${ZONE:-bench.example}
ZONE=${ZONE%.}
SIGN_TIMEOUT=${SIGN_TIMEOUT:-600}
KNOT_SIGNING_THREADS=${KNOT_SIGNING_THREADS:-}
KNOT_BG_WORKERS=${KNOT_BG_WORKERS:-}
CPU_PROF=${CPU_PROF:-}
ONLY=${ONLY:-}
BENCH_CLI=${BENCH_CLI:-dist/cli.js}

BENCH_NAME=sign-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
case "$ONLY" in '' | knot | dane-ns) ;; *) die "ONLY must be knot or dane-ns (got '$ONLY')" ;; esac
for v in NAMES SIGN_TIMEOUT; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"; done
for v in KNOT_SIGNING_THREADS KNOT_BG_WORKERS; do
  [ -z "${!v}" ] || [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
need kdig knot-dnsutils
need node nodejs
[ "$ONLY" = dane-ns ] || need knotd knot
[ "$ONLY" = knot ] || [ -f "$BENCH_CLI" ] || die "$BENCH_CLI not found: run 'npm run build' (npm run bench does)"

bench_init dane-ns-sign-bench 50

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# --- the zone ---------------------------------------------------------------------------------------------------
node bench/gen-zone.mjs --names "$NAMES" --zone "$ZONE" --out "$TMP/gen"
echo "sign-bench: $(nproc) CPUs; servers not pinned; fresh keys for both; zone $ZONE. ($NAMES host names)" >&2

# --- dane-ns ----------------------------------------------------------------------------------------------------
T_dane="" MS_dane="" SIGS_dane="" HWM_dane=""
measure_dane() {
  local dir="$TMP/dane-ns" port t0 t1 pid deadline nodeargs=()
  mkdir -p "$dir/keys" "$dir/state"
  port=$(free_port)
  if [ -n "$CPU_PROF" ]; then
    mkdir -p "$CPU_PROF"
    CPU_PROF=$(cd "$CPU_PROF" && pwd)
    nodeargs=(--cpu-prof --cpu-prof-dir="$CPU_PROF")
  fi
  t0=$(now)
  node "${SERVE_NODE_FLAGS[@]}" "${nodeargs[@]}" "$BENCH_CLI" serve --zones "$TMP/gen/yaml" --keys "$dir/keys" --state "$dir/state" \
    --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  deadline=$((SECONDS + SIGN_TIMEOUT))
  until grep -q '"event":"listening"' "$dir/log"; do
    kill -0 "$pid" 2>/dev/null || { echo "sign-bench: dane-ns exited during start:" >&2; cat "$dir/log" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "sign-bench: dane-ns not listening within ${SIGN_TIMEOUT}s:" >&2; cat "$dir/log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(now)
  HWM_dane=$(hwm_kib "$pid")
  kdig +dnssec +norec +timeout=2 +retry=0 @127.0.0.1 -p "$port" "$ZONE." SOA 2>/dev/null | grep -q 'RRSIG' ||
    { echo "sign-bench: dane-ns answers SOA without RRSIG" >&2; exit 1; }
  stop_pid "$pid" # SIGTERM: node writes the CPU profile on a clean exit
  T_dane=$(elapsed "$t0" "$t1")
  MS_dane=$(sed -n 's/.*"event":"zone-signed".*"ms":\([0-9]*\).*/\1/p' "$dir/log" | head -n1)
  SIGS_dane=$(sed -n 's/.*"event":"zone-signed".*"signatures":\([0-9]*\).*/\1/p' "$dir/log" | head -n1)
  local loaded_ts signed_ts
  loaded_ts=$(sed -n 's/^{"time":"\([^"]*\)".*"event":"zone-loaded".*/\1/p' "$dir/log" | head -n1)
  signed_ts=$(sed -n 's/^{"time":"\([^"]*\)".*"event":"zone-signed".*/\1/p' "$dir/log" | head -n1)
  printf '  dane-ns: listening after %s s; zone-loaded at +%s s, zone-signed at +%s s (log times); %s signatures in %s ms; VmHWM %s KiB\n' \
    "$T_dane" "$(ts_offset "$t0" "$loaded_ts")" "$(ts_offset "$t0" "$signed_ts")" "${SIGS_dane:-?}" "${MS_dane:-?}" "$HWM_dane" >&2
  if [ -n "$CPU_PROF" ]; then
    local prof
    prof=$(ls -t "$CPU_PROF"/*.cpuprofile 2>/dev/null | head -n1 || true)
    if [ -n "$prof" ]; then
      echo "  dane-ns CPU profile: $prof" >&2
      summarize_profile "$prof" >&2
    else
      echo "  dane-ns CPU profile: none written" >&2
    fi
  fi
}

# Seconds between the shell's start timestamp and an ISO time from the log.
ts_offset() { # epoch-seconds iso
  [ -n "$2" ] || { echo "?"; return; }
  node -e 'const [a, iso] = process.argv.slice(1); process.stdout.write(((Date.parse(iso) / 1000) - Number(a)).toFixed(2));' "$1" "$2"
}

# Top functions of a V8 .cpuprofile by self time, and the largest inclusive frames of dane-ns's own code.
summarize_profile() {
  node - "$1" <<'EOF'
const { readFileSync } = require('node:fs');
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const f = n.callFrame;
  const file = f.url ? f.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/') : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
};
const self = new Map();
const incl = new Map();
let total = 0;
prof.samples.forEach((id, i) => {
  const dt = prof.timeDeltas[i] ?? 0;
  total += dt;
  const n = nodes.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + dt);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const node = nodes.get(cur);
    const l = label(node);
    if (!seen.has(l) && /\/(dist|node_modules)\//.test(node.callFrame.url)) {
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + dt);
    }
  }
});
const show = (title, map, n) => {
  console.log(`    ${title} (profile total ${(total / 1e6).toFixed(2)} s):`);
  for (const [l, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`    ${(t / 1e6).toFixed(2).padStart(7)} s ${((100 * t) / total).toFixed(1).padStart(5)} %  ${l}`);
  }
};
show('self time', self, 12);
show('inclusive time, dist/ and node_modules/ frames', incl, 16);
EOF
}

# --- Knot DNS ---------------------------------------------------------------------------------------------------
T_knot="" HWM_knot=""
measure_knot() {
  local dir="$TMP/knot" port t0 t1 pid deadline
  mkdir -p "$dir/run" "$dir/db" "$dir/zones" "$dir/keys"
  cp "$TMP/gen/$ZONE.zone" "$dir/zones/zone.txt"
  port=$(free_port)
  # The integration tests' oracle policy (test/integration/helpers/knot.ts): ECDSA P-256, NSEC, no CDS/CDNSKEY.
  {
    echo "server:"
    echo "    rundir: \"$dir/run\""
    echo "    pidfile: \"$dir/run/knot.pid\""
    echo "    udp-workers: 1"
    echo "    tcp-workers: 1"
    [ -z "$KNOT_BG_WORKERS" ] || echo "    background-workers: $KNOT_BG_WORKERS"
    echo "    listen: 127.0.0.1@$port"
    echo "database:"
    echo "    storage: \"$dir/db\""
    echo "log:"
    echo "  - target: stderr"
    echo "    any: info"
    echo "keystore:"
    echo "  - id: local-keys"
    echo "    backend: pem"
    echo "    config: \"$dir/keys\""
    echo "policy:"
    echo "  - id: bench"
    echo "    keystore: local-keys"
    echo "    algorithm: ecdsap256sha256"
    echo "    nsec3: off"
    echo "    cds-cdnskey-publish: none"
    [ -z "$KNOT_SIGNING_THREADS" ] || echo "    signing-threads: $KNOT_SIGNING_THREADS"
    echo "template:"
    echo "  - id: default"
    echo "    storage: \"$dir/zones\""
    echo "    zonefile-sync: -1"
    echo "    zonefile-load: whole"
    echo "    journal-content: none"
    echo "    dnssec-signing: on"
    echo "    dnssec-policy: bench"
    echo "zone:"
    echo "  - domain: \"$ZONE.\""
    echo "    file: \"$dir/zones/zone.txt\""
  } >"$dir/knot.conf"
  echo "  knot: background-workers ${KNOT_BG_WORKERS:-default (auto: $(nproc) CPUs)}," \
    "signing-threads ${KNOT_SIGNING_THREADS:-default (1)}, udp-workers 1, tcp-workers 1" >&2
  t0=$(now)
  "$(tool knotd)" -c "$dir/knot.conf" >"$dir/log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  deadline=$((SECONDS + SIGN_TIMEOUT))
  until kdig +dnssec +norec +timeout=1 +retry=0 @127.0.0.1 -p "$port" "$ZONE." SOA 2>/dev/null | grep -q 'RRSIG'; do
    kill -0 "$pid" 2>/dev/null || { echo "sign-bench: knotd exited during start:" >&2; cat "$dir/log" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "sign-bench: knotd not signed within ${SIGN_TIMEOUT}s:" >&2; cat "$dir/log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(now)
  HWM_knot=$(hwm_kib "$pid")
  stop_pid "$pid"
  T_knot=$(elapsed "$t0" "$t1")
  printf '  knot: signed and serving after %s s; VmHWM %s KiB\n' "$T_knot" "$HWM_knot" >&2
  grep -E 'DNSSEC, (signing|successfully|next)|loaded, serial' "$dir/log" | sed 's/^/    knotd: /' >&2 || true
}

[ "$ONLY" = dane-ns ] || measure_knot
[ "$ONLY" = knot ] || measure_dane

if [ -n "$T_dane" ] && [ -n "$T_knot" ]; then
  awk -v d="$T_dane" -v k="$T_knot" \
    'BEGIN { printf "sign time: dane-ns %.2f s, knot %.2f s, ratio %.2f (target <= 1.5)\n", d, k, d / k }'
  awk -v d="$HWM_dane" -v k="$HWM_knot" \
    'BEGIN { printf "peak RSS: dane-ns %.0f MiB, knot %.0f MiB, ratio %.2f (target <= 2)\n", d / 1024, k / 1024, d / k }'
else
  [ -z "$T_dane" ] || echo "sign time: dane-ns $T_dane s (zone-signed ${MS_dane:-?} ms); peak RSS: dane-ns $(mib "$HWM_dane") MiB"
  [ -z "$T_knot" ] || echo "sign time: knot $T_knot s; peak RSS: knot $(mib "$HWM_knot") MiB"
fi
[ -z "$MS_dane" ] || awk -v ms="$MS_dane" -v n="${SIGS_dane:-0}" \
  'BEGIN { printf "dane-ns zone-signed: %.2f s for %d signatures (%.1f us each)\n", ms / 1000, n, n ? ms * 1000 / n : 0 }'
