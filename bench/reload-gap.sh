#!/usr/bin/env bash
# The longest gap in answers while a large signed zone (bench/gen-zone.mjs, NAMES host names) is added to a
# running server, edited (one record: the apex TXT) and removed, dane-ns beside Knot DNS doing the same, in one
# run. A small zone (probe.example) is served all along; bench/gap-probe.mjs asks for its SOA every 50 ms over
# UDP and over TCP (a new connection each time) during each step, and reports the longest wait of each.
#
#   dane-ns   the zones directory is watched: the file is renamed in, rewritten (written beside it, renamed) and
#             removed; the server parses, builds, signs and publishes in slices (src/server/slices.ts).
#   Knot DNS  the zone is added and removed with a configuration transaction (knotc conf-begin, conf-set /
#             conf-unset, conf-commit) and the edit is `knotc zone-reload` (zonefile-load: difference-no-serial);
#             Knot signs with its own keys (ECDSA P-256, NSEC), as in bench/xfr.sh.
#
# Each step ends when the change is answered: the zone's SOA with a serial (added), a new serial (edited),
# REFUSED (removed). Reported per step and server: its wall time, the longest UDP and TCP waits in it, and the
# server's peak resident memory during it (sampled with each probe).
# Pinning as bench/xfr.sh: each server on CPU 0, the probe on the others (PIN=0: none). Knot runs with one UDP,
# one TCP and one background worker. Builds nothing: run `npm run build` first (npm run bench:reload does).
#
# Environment (all optional):
#   NAMES=100000            host names in the generated zone
#   STEP_TIMEOUT=600        seconds to wait for a step to be answered
#   ONLY=                   "knot" or "dane-ns" to measure only one server
#   PIN=auto                0 = no CPU pinning
#   BENCH_CLI=dist/cli.js   dane-ns entry point
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NAMES=${NAMES:-100000}
ZONE=bench.example
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
ONLY=${ONLY:-}
BENCH_CLI=${BENCH_CLI:-dist/cli.js}

BENCH_NAME=reload-gap
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
case "$ONLY" in '' | knot | dane-ns) ;; *) die "ONLY must be knot or dane-ns (got '$ONLY')" ;; esac
for v in NAMES STEP_TIMEOUT; do [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer"; done
need kdig knot-dnsutils
need node nodejs
if [ "$ONLY" != dane-ns ]; then
  need knotd knot
  need knotc knot
fi
[ -f "$BENCH_CLI" ] || die "$BENCH_CLI not found: run 'npm run build' (npm run bench:reload does)"

bench_init dane-ns-reload-gap 100
pin_cpus

OLD_TXT='v=spf1 mx -all'
NEW_TXT='v=spf1 mx ~all'
node bench/gen-zone.mjs --names "$NAMES" --zone "$ZONE" --out "$TMP/gen"
PROBE_YAML='origin: probe.example.
soa: { mname: ns1, rname: h, serial: 1 }
records:
  "@": { NS: ns1 }
  ns1: { A: 192.0.2.53 }
'
echo "reload-gap: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), pinning: ${SERVER_PIN[*]:-none} /" \
  "${CLIENT_PIN[*]:-none}; zone $ZONE. ($NAMES host names)" >&2

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# "NOERROR <serial>", "REFUSED", ... for the SOA of $2 at port $1.
soa_state() { # port name
  kdig +norec +timeout=1 +retry=0 @127.0.0.1 -p "$1" "$2" SOA 2>/dev/null |
    awk '/status:/ { s = $6; sub(/[;,]$/, "", s) } $4 == "SOA" && $1 == name { serial = $7 } END { print s, serial }' name="$2"
}
wait_for() { # port test-function
  local deadline=$((SECONDS + STEP_TIMEOUT))
  until "$2" "$(soa_state "$1" "$ZONE.")"; do
    [ "$SECONDS" -lt "$deadline" ] || die "step not answered within ${STEP_TIMEOUT}s"
    sleep 0.05
  done
}
SERIAL0=
served() { [[ $1 =~ ^NOERROR\ [0-9]+$ ]] && SERIAL0=${1#NOERROR }; }
changed() { [[ $1 =~ ^NOERROR\ [0-9]+$ ]] && [ "${1#NOERROR }" != "$SERIAL0" ]; }
refused() { [[ $1 == REFUSED* ]]; }

declare -A R
# One step: the probe runs while ACTION is done and until TEST holds; records wall time and longest waits.
step() { # server port label action test
  local fifo="$TMP/probe.ctl" out="$TMP/probe.out" t0 t1 pid
  rm -f "$fifo"
  mkfifo "$fifo"
  "${CLIENT_PIN[@]}" node bench/gap-probe.mjs "$2" probe.example 50 "$SERVER_PID" <"$fifo" >"$out" &
  pid=$!
  PIDS+=("$pid")
  exec 3>"$fifo"
  sleep 0.5
  t0=$(now)
  "$4" "$2"
  wait_for "$2" "$5"
  t1=$(now)
  sleep 0.2
  echo >&3
  exec 3>&-
  wait "$pid" || die "gap-probe failed"
  forget_pid "$pid"
  read -r udp tcp probes lost rss <"$out"
  R[$3_wall_$1]=$(elapsed "$t0" "$t1")
  R[$3_udp_$1]=$udp
  R[$3_tcp_$1]=$tcp
  R[$3_rss_$1]=$rss
  echo "reload-gap: $1 $3: $(elapsed "$t0" "$t1") s, longest wait UDP $udp ms, TCP $tcp ms ($probes probes, $lost unanswered), peak RSS $rss MB" >&2
}
probe_up() { # port
  local deadline=$((SECONDS + 60))
  until [[ $(soa_state "$1" probe.example.) == NOERROR* ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -n 20 "$LOG")"
    [ "$SECONDS" -lt "$deadline" ] || die "probe.example. not served within 60 s: $(tail -n 20 "$LOG")"
    sleep 0.05
  done
}

# --- dane-ns ----------------------------------------------------------------------------------------------------
DIR_D="$TMP/dane-ns"
start_dane() { # port
  mkdir -p "$DIR_D/zones" "$DIR_D/keys" "$DIR_D/state"
  printf '%s' "$PROBE_YAML" >"$DIR_D/zones/probe.example.yaml"
  LOG="$DIR_D/log"
  "${SERVER_PIN[@]}" node "${SERVE_NODE_FLAGS[@]}" "$BENCH_CLI" serve --zones "$DIR_D/zones" --keys "$DIR_D/keys" \
    --state "$DIR_D/state" --listen "127.0.0.1:$1" >"$LOG" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}
add_dane() {
  { cat "$TMP/gen/yaml/$ZONE.yaml"; printf 'transfer:\n  allow:\n    - address: 127.0.0.1\n'; } >"$DIR_D/new.yaml"
  mv "$DIR_D/new.yaml" "$DIR_D/zones/$ZONE.yaml"
}
edit_dane() {
  sed "s/$OLD_TXT/$NEW_TXT/" "$DIR_D/zones/$ZONE.yaml" >"$DIR_D/new.yaml"
  mv "$DIR_D/new.yaml" "$DIR_D/zones/$ZONE.yaml"
}
remove_dane() { rm "$DIR_D/zones/$ZONE.yaml"; }

# --- Knot DNS ---------------------------------------------------------------------------------------------------
DIR_K="$TMP/knot"
knotc_() { "$(tool knotc)" -c "$DIR_K/knot.conf" "$@" >/dev/null || die "knotc $* failed: $(tail -n 5 "$LOG")"; }
start_knot() { # port
  mkdir -p "$DIR_K/run" "$DIR_K/db" "$DIR_K/zones" "$DIR_K/keys"
  printf '$ORIGIN probe.example.\n$TTL 3600\n@ SOA ns1 h 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n' \
    >"$DIR_K/zones/probe.example.zone"
  cat >"$DIR_K/knot.conf" <<EOF
server:
    rundir: "$DIR_K/run"
    pidfile: "$DIR_K/run/knot.pid"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    listen: 127.0.0.1@$1
control:
    listen: "$DIR_K/run/knot.sock"
database:
    storage: "$DIR_K/db"
log:
  - target: stderr
    any: info
keystore:
  - id: local-keys
    backend: pem
    config: "$DIR_K/keys"
policy:
  - id: bench
    keystore: local-keys
    algorithm: ecdsap256sha256
    nsec3: off
    cds-cdnskey-publish: none
template:
  - id: default
    storage: "$DIR_K/zones"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: bench
zone:
  - domain: probe.example.
    file: "$DIR_K/zones/probe.example.zone"
EOF
  LOG="$DIR_K/log"
  "${SERVER_PIN[@]}" "$(tool knotd)" -c "$DIR_K/knot.conf" >"$LOG" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}
add_knot() {
  cp "$TMP/gen/$ZONE.zone" "$DIR_K/zones/zone.txt"
  knotc_ conf-begin
  knotc_ conf-set "zone[$ZONE.]"
  knotc_ conf-set "zone[$ZONE.].file" "$DIR_K/zones/zone.txt"
  knotc_ conf-commit
}
edit_knot() {
  sed "s/$OLD_TXT/$NEW_TXT/" "$DIR_K/zones/zone.txt" >"$DIR_K/zones/zone.new"
  mv "$DIR_K/zones/zone.new" "$DIR_K/zones/zone.txt"
  knotc_ zone-reload "$ZONE."
}
remove_knot() {
  knotc_ conf-begin
  knotc_ conf-unset "zone[$ZONE.]"
  knotc_ conf-commit
}

measure() { # server start add edit remove
  local port
  port=$(free_port)
  "$2" "$port"
  probe_up "$port"
  step "$1" "$port" add "$3" served
  step "$1" "$port" edit "$4" changed
  step "$1" "$port" remove "$5" refused
  stop_pid "$SERVER_PID"
}
[ "$ONLY" = dane-ns ] || measure knot start_knot add_knot edit_knot remove_knot
[ "$ONLY" = knot ] || measure dane-ns start_dane add_dane edit_dane remove_dane

# --- the table --------------------------------------------------------------------------------------------------
printf '| %-32s | %-22s | %-22s |\n' "$NAMES names; load $(cut -d' ' -f1 /proc/loadavg)" "Knot DNS" "dane-ns"
printf '| %-32s | %-22s | %-22s |\n' "$(printf -- '-%.0s' {1..32})" "----------------------" "----------------------"
for s in add edit remove; do
  for k in wall udp tcp rss; do
    case $k in
      wall) l="$s: until answered" u=s ;;
      udp) l="  longest UDP wait" u=ms ;;
      tcp) l="  longest TCP wait" u=ms ;;
      rss) l="  peak resident memory" u=MB ;;
    esac
    kv=${R[${s}_${k}_knot]:-} dv=${R[${s}_${k}_dane-ns]:-}
    printf '| %-32s | %-22s | %-22s |\n' "$l" "${kv:+$kv $u}" "${dv:+$dv $u}"
  done
done
