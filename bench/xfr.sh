#!/usr/bin/env bash
# Zone transfers and restart of a large signed zone (bench/gen-zone.mjs), dane-ns as a hidden primary beside
# Knot DNS as primary of the same zone, in one run. Each server serves the zone signed by itself (ECDSA P-256,
# KSK + ZSK, NSEC, fresh keys), and both allow transfers with the same TSIG key (RFC 8945, hmac-sha256), made by
# `dane-ns tsig generate`. Per server, in this order:
#
#   first start  process start until `SOA +dnssec` is answered with an RRSIG (load + signing), for scale.
#   UDP rate     dnsperf on the zone's "hit" workload (every owner and type) for WINDOW seconds after WARMUP
#                seconds unmeasured: the rate without a transfer, and its lowest 1-second rate (dnsperf -S 1).
#   AXFR         one `kdig -y ... AXFR` with nothing else running: wall time (kdig start to exit), records,
#                messages and octets as kdig counts them.
#   AXFR + UDP   dnsperf again, started 0.2 s before a second AXFR and stopped (SIGINT) when kdig has the whole
#                zone: the UDP rate while the transfer runs, its lowest 1-second rate (a stall of the UDP
#                answers shows as 0; only when the AXFR takes over 2 s), and that AXFR's wall time.
#   IXFR         one record changed (the apex TXT): dane-ns by rewriting its YAML file (the zones directory is
#                watched), Knot by rewriting its zone file and `knotc zone-reload` (Knot computes the difference,
#                zonefile-load: difference-no-serial, and signs it); the time from the change until the new
#                serial is answered, then `kdig -y ... IXFR=<old serial>`: wall time, records and octets.
#   restart      SIGTERM, then the same command with the same files: dane-ns with its keys and state directory
#                (the signatures are restored: `zone-signatures-restored`, no `zone-signed`), Knot with its
#                KASP database and journal (journal-content: all); process start until `SOA +dnssec` is
#                answered with an RRSIG. The serial must be the one served before the restart.
#
# Pinning as bench/dnsperf.sh: with >= 2 CPUs (PIN unset or not 0) each server runs on CPU 0, and dnsperf and
# kdig on the others (so on 2 CPUs the AXFR client and dnsperf share CPU 1, alike for both servers). Knot runs
# with one UDP worker, one TCP worker and one background worker.
#
# Builds nothing: run `npm run build` first (npm run bench:xfr does). Every wait is bounded (XFR_TIMEOUT, dnsperf
# -l under `timeout`, kdig +time); servers are stopped by PID on exit.
#
# Environment (all optional):
#   NAMES=100000            host names in the generated zone (e.g. 2000 for a quick run)
#   ZONE=bench.example      generated zone's name
#   WINDOW=10               seconds of the measured dnsperf window without a transfer
#   WARMUP=2                seconds of unmeasured dnsperf load before the first window; 0 to skip
#   OUTSTANDING=100         dnsperf -q (max queries in flight)
#   XFR_TIMEOUT=600         seconds to wait for a start, a restart or a new serial; kdig's +time for transfers
#   PIN=auto                0 = no CPU pinning
#   ONLY=                   "knot" or "dane-ns" to measure only one server (no ratios)
#   BENCH_CLI=dist/cli.js   dane-ns entry point
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NAMES=${NAMES:-100000}
ZONE=${ZONE:-bench.example}
ZONE=${ZONE%.}
WINDOW=${WINDOW:-10}
WARMUP=${WARMUP:-2}
OUTSTANDING=${OUTSTANDING:-100}
XFR_TIMEOUT=${XFR_TIMEOUT:-600}
ONLY=${ONLY:-}
BENCH_CLI=${BENCH_CLI:-dist/cli.js}
KEY=bench-xfr

BENCH_NAME=xfr-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
case "$ONLY" in '' | knot | dane-ns) ;; *) die "ONLY must be knot or dane-ns (got '$ONLY')" ;; esac
for v in NAMES WINDOW WARMUP OUTSTANDING XFR_TIMEOUT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[ "$NAMES" -gt 0 ] || die "NAMES must be > 0"
[ "$WINDOW" -ge 2 ] || die "WINDOW must be >= 2 (seconds)"
[ "$XFR_TIMEOUT" -gt 0 ] || die "XFR_TIMEOUT must be > 0"
need kdig knot-dnsutils
need dnsperf dnsperf
need node nodejs
if [ "$ONLY" != dane-ns ]; then
  need knotd knot
  need knotc knot
fi
[ -f "$BENCH_CLI" ] || die "$BENCH_CLI not found: run 'npm run build' (npm run bench:xfr does)"

bench_init dane-ns-xfr-bench 100
pin_cpus

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# --- the zone, the TSIG key, the queries ------------------------------------------------------------------------
node bench/gen-zone.mjs --names "$NAMES" --zone "$ZONE" --out "$TMP/gen"
# The one record the IXFR step changes, in both forms of the zone.
OLD_TXT='v=spf1 mx -all'
NEW_TXT='v=spf1 mx ~all'
for f in "$TMP/gen/yaml/$ZONE.yaml" "$TMP/gen/$ZONE.zone"; do
  [ "$(grep -c -F "$OLD_TXT" "$f")" = 1 ] || die "expected '$OLD_TXT' once in $f"
done
mkdir -p "$TMP/tsig-keys"
node "$BENCH_CLI" tsig generate "$KEY" --keys "$TMP/tsig-keys" >/dev/null
SECRET=$(sed -n 's/.*secret "\([^"]*\)".*/\1/p' "$TMP/tsig-keys/tsig/$KEY.key")
[ -n "$SECRET" ] || die "no secret in $TMP/tsig-keys/tsig/$KEY.key"
hit_queries "$TMP/gen/$ZONE.zone" >"$TMP/queries.txt"
NQ=$(grep -c . "$TMP/queries.txt" || true)
[ "$NQ" -gt 0 ] || die "no queries derived from the zone"

echo "xfr-bench: $(nproc) CPUs, pinning: ${SERVER_PIN[*]:-none} / ${CLIENT_PIN[*]:-none}; zone $ZONE. ($NAMES host" \
  "names, $NQ distinct queries); dnsperf -q $OUTSTANDING, ${WINDOW}s window (+${WARMUP}s warm-up); TSIG $KEY" >&2

# --- probes -----------------------------------------------------------------------------------------------------
# The serial the server answers (empty when it does not answer).
serial_of() { # port
  kdig +short +norec +timeout=1 +retry=0 @127.0.0.1 -p "$1" "$ZONE." SOA 2>/dev/null | awk 'NF >= 7 { print $3; exit }' || true
}
signed_soa() { # port
  kdig +dnssec +norec +timeout=1 +retry=0 @127.0.0.1 -p "$1" "$ZONE." SOA 2>/dev/null | grep -q 'RRSIG'
}
# Waits until the server answers SOA with an RRSIG; prints the seconds since T0. Exits on a dead server or
# after XFR_TIMEOUT.
wait_signed() { # name port pid log t0
  local deadline=$((SECONDS + XFR_TIMEOUT))
  until signed_soa "$2"; do
    kill -0 "$3" 2>/dev/null || { echo "xfr-bench: $1 exited during start:" >&2; tail -n 30 "$4" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "xfr-bench: $1 not signed within ${XFR_TIMEOUT}s:" >&2; tail -n 30 "$4" >&2; exit 1; }
    sleep 0.01
  done
  elapsed "$5" "$(now)"
}

# dnsperf on PORT for SECONDS in the background (bounded by `timeout`); sets DP_PID.
dnsperf_bg() { # port seconds file
  timeout -k 5 $(($2 + 30)) "${CLIENT_PIN[@]}" dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries.txt" -l "$2" \
    -c 1 -q "$OUTSTANDING" -m udp -t 2 -S 1 >"$3" 2>&1 &
  DP_PID=$!
  PIDS+=("$DP_PID")
}
dnsperf_wait() { # file
  local rc=0
  wait "$DP_PID" || rc=$?
  forget_pid "$DP_PID"
  [ "$rc" -eq 0 ] || { echo "xfr-bench: dnsperf failed (exit $rc):" >&2; cat "$1" >&2; exit 1; }
}
qps_of() { awk '/Queries per second:/ { printf "%.0f", $4 }' "$1"; }
# The lowest of dnsperf's 1-second rates (-S 1), the first interval (start-up) left out.
# Empty when the run was too short to have one.
min_qps_of() { awk '/^[0-9]+\.[0-9]+: [0-9.]+$/ { n++; if (n > 1 && (min == "" || $2 < min)) min = $2 } END { if (min != "") printf "%.0f", min }' "$1"; }

# One transfer with kdig; prints "wall records messages octets" (wall in seconds) or fails.
kdig_xfr() { # port type out
  local t0 t1
  t0=$(now)
  "${CLIENT_PIN[@]}" kdig @127.0.0.1 -p "$1" -y "hmac-sha256:$KEY:$SECRET" +time="$XFR_TIMEOUT" +retry=0 \
    "$ZONE." "$2" >"$3" 2>&1 || { echo "xfr-bench: kdig $2 failed:" >&2; tail -n 5 "$3" >&2; return 1; }
  t1=$(now)
  grep -q '^;; Received [0-9]* B ([0-9]* messages, [0-9]* records)' "$3" ||
    { echo "xfr-bench: kdig $2 incomplete:" >&2; tail -n 5 "$3" >&2; return 1; }
  sed -n 's/^;; Received \([0-9]*\) B (\([0-9]*\) messages, \([0-9]*\) records).*/\3 \2 \1/p' "$3" |
    awk -v w="$(elapsed "$t0" "$t1")" '{ print w, $0 }'
}

# --- one server, every phase ------------------------------------------------------------------------------------
# Results, by "<figure>_<server>": first, qps, qmin, axfr, axfr_rr, axfr_msg, axfr_oct, qps_x, qmin_x, axfr_x,
# serial_t, ixfr, ixfr_rr, ixfr_oct, restart.
declare -A R

measure() { # name start-function edit-function
  local s=$1 start=$2 edit=$3 dir="$TMP/$1" port pid t0 out a old new deadline
  port=$(free_port)
  t0=$(now)
  "$start" "$port"
  pid=$SERVER_PID
  R[first_$s]=$(wait_signed "$s" "$port" "$pid" "$dir/log" "$t0")
  echo "  $s: first start (signing) ${R[first_$s]} s, serial $(serial_of "$port")" >&2

  # UDP without a transfer.
  if [ "$WARMUP" -gt 0 ]; then
    dnsperf_bg "$port" "$WARMUP" "$dir/dnsperf-warmup.txt"
    dnsperf_wait "$dir/dnsperf-warmup.txt"
  fi
  dnsperf_bg "$port" "$WINDOW" "$dir/dnsperf-alone.txt"
  dnsperf_wait "$dir/dnsperf-alone.txt"
  R[qps_$s]=$(qps_of "$dir/dnsperf-alone.txt")
  R[qmin_$s]=$(min_qps_of "$dir/dnsperf-alone.txt")

  # AXFR alone.
  read -r R[axfr_$s] R[axfr_rr_$s] R[axfr_msg_$s] R[axfr_oct_$s] < <(kdig_xfr "$port" AXFR "$dir/axfr.txt") ||
    exit 1
  [ -n "${R[axfr_oct_$s]}" ] || exit 1
  echo "  $s: AXFR ${R[axfr_$s]} s, ${R[axfr_rr_$s]} records, ${R[axfr_msg_$s]} messages, ${R[axfr_oct_$s]} B" >&2

  # dnsperf for the duration of one AXFR: started just before it, stopped (SIGINT: dnsperf prints its figures)
  # when kdig has the whole zone.
  dnsperf_bg "$port" "$XFR_TIMEOUT" "$dir/dnsperf-axfr.txt"
  sleep 0.2
  a=$(kdig_xfr "$port" AXFR "$dir/axfr-load.txt") || exit 1
  kill -0 "$DP_PID" 2>/dev/null || { echo "xfr-bench: dnsperf ended before the AXFR did:" >&2; cat "$dir/dnsperf-axfr.txt" >&2; exit 1; }
  kill -INT "$DP_PID"
  dnsperf_wait "$dir/dnsperf-axfr.txt"
  R[axfr_x_$s]=${a%% *}
  R[qps_x_$s]=$(qps_of "$dir/dnsperf-axfr.txt")
  R[qmin_x_$s]=$(min_qps_of "$dir/dnsperf-axfr.txt")
  echo "  $s: UDP ${R[qps_$s]} q/s alone (lowest 1 s: ${R[qmin_$s]:-n/a}), ${R[qps_x_$s]} q/s during an AXFR" \
    "(lowest 1 s: ${R[qmin_x_$s]:-n/a}) that took ${R[axfr_x_$s]} s" >&2

  # IXFR after a one-record change.
  old=$(serial_of "$port")
  t0=$(now)
  "$edit" "$port"
  deadline=$((SECONDS + XFR_TIMEOUT))
  while :; do
    new=$(serial_of "$port")
    [ -z "$new" ] || [ "$new" = "$old" ] || break
    [ "$SECONDS" -lt "$deadline" ] || { echo "xfr-bench: $s kept serial $old for ${XFR_TIMEOUT}s after the change" >&2; exit 1; }
    sleep 0.02
  done
  R[serial_t_$s]=$(elapsed "$t0" "$(now)")
  read -r R[ixfr_$s] R[ixfr_rr_$s] _ R[ixfr_oct_$s] < <(kdig_xfr "$port" "IXFR=$old" "$dir/ixfr.txt") || exit 1
  [ -n "${R[ixfr_oct_$s]}" ] || exit 1
  echo "  $s: serial $old -> $new after ${R[serial_t_$s]} s; IXFR=$old ${R[ixfr_$s]} s, ${R[ixfr_rr_$s]} records," \
    "${R[ixfr_oct_$s]} B" >&2

  # Restart with the same files.
  stop_pid "$pid"
  mv "$dir/log" "$dir/log.first"
  t0=$(now)
  "$start" "$port"
  R[restart_$s]=$(wait_signed "$s" "$port" "$SERVER_PID" "$dir/log" "$t0")
  a=$(serial_of "$port")
  echo "  $s: restart ${R[restart_$s]} s, serial $a" >&2
  [ "$a" = "$new" ] || echo "xfr-bench: NOTE $s serves serial $a after the restart, $new before" >&2
  if [ "$s" = dane-ns ]; then
    grep -q '"event":"zone-signatures-restored"' "$dir/log" ||
      echo "xfr-bench: NOTE dane-ns did not log zone-signatures-restored on the restart" >&2
    ! grep -q '"event":"zone-signed"' "$dir/log" ||
      echo "xfr-bench: NOTE dane-ns signed again on the restart: $(grep '"event":"zone-signed"' "$dir/log")" >&2
  fi
  stop_pid "$SERVER_PID"
}

# --- dane-ns ----------------------------------------------------------------------------------------------------
start_dane() { # port
  local dir="$TMP/dane-ns"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir/zones" "$dir/keys/tsig" "$dir/state"
    cp "$TMP/tsig-keys/tsig/$KEY.key" "$dir/keys/tsig/"
    { cat "$TMP/gen/yaml/$ZONE.yaml"; printf 'transfer:\n  allow:\n    - key: %s\n' "$KEY"; } >"$dir/zones/$ZONE.yaml"
  fi
  "${SERVER_PIN[@]}" node "${SERVE_NODE_FLAGS[@]}" "$BENCH_CLI" serve --zones "$dir/zones" --keys "$dir/keys" \
    --state "$dir/state" --listen "127.0.0.1:$1" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}
# The zones directory is watched: the file is replaced (written beside it, then renamed), as an editor would.
edit_dane() { # port
  local f="$TMP/dane-ns/zones/$ZONE.yaml"
  sed "s/$OLD_TXT/$NEW_TXT/" "$f" >"$f.new"
  mv "$f.new" "$f"
}

# --- Knot DNS ---------------------------------------------------------------------------------------------------
start_knot() { # port
  local dir="$TMP/knot"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir/run" "$dir/db" "$dir/zones" "$dir/keys"
    cp "$TMP/gen/$ZONE.zone" "$dir/zones/zone.txt"
    # The signing policy of bench/sign.sh; the zone file stays unsigned and the signed zone lives in the
    # journal (difference-no-serial + journal-content: all, Knot's setup for a signing primary).
    cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir/run"
    pidfile: "$dir/run/knot.pid"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    listen: 127.0.0.1@$1
control:
    listen: "$dir/run/knot.sock"
database:
    storage: "$dir/db"
log:
  - target: stderr
    any: info
key:
  - id: $KEY
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: xfr
    key: $KEY
    action: transfer
keystore:
  - id: local-keys
    backend: pem
    config: "$dir/keys"
policy:
  - id: bench
    keystore: local-keys
    algorithm: ecdsap256sha256
    nsec3: off
    cds-cdnskey-publish: none
template:
  - id: default
    storage: "$dir/zones"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: bench
    acl: xfr
zone:
  - domain: "$ZONE."
    file: "$dir/zones/zone.txt"
EOF
  fi
  "${SERVER_PIN[@]}" "$(tool knotd)" -c "$dir/knot.conf" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}
edit_knot() { # port
  local f="$TMP/knot/zones/zone.txt"
  sed "s/$OLD_TXT/$NEW_TXT/" "$f" >"$f.new"
  mv "$f.new" "$f"
  "$(tool knotc)" -c "$TMP/knot/knot.conf" zone-reload "$ZONE." >/dev/null ||
    die "knotc zone-reload failed: $(tail -n 5 "$TMP/knot/log")"
}

[ "$ONLY" = dane-ns ] || measure knot start_knot edit_knot
[ "$ONLY" = knot ] || measure dane-ns start_dane edit_dane

# --- the table --------------------------------------------------------------------------------------------------
row() { # label key unit
  local k=${R[$2_knot]:-} d=${R[$2_dane-ns]:-}
  awk -v l="$1" -v k="$k" -v d="$d" -v u="$3" 'BEGIN {
    ratio = (k != "" && d != "" && k + 0 > 0) ? sprintf("%.2f", d / k) : ""
    printf "| %-44s | %-14s | %-14s | %-6s |\n", l, (k == "" ? "" : k " " u), (d == "" ? "" : d " " u), ratio
  }'
}
printf '| %-44s | %-14s | %-14s | %-6s |\n' "zone of $NAMES names" "Knot DNS" "dane-ns" "ratio"
printf '| %-44s | %-14s | %-14s | %-6s |\n' "$(printf -- '-%.0s' {1..44})" "--------------" "--------------" "------"
row "first start (load + sign) to signed SOA" first s
row "UDP rate, no transfer" qps "q/s"
row "  lowest 1-second rate" qmin "q/s"
row "AXFR alone, wall" axfr s
row "  records" axfr_rr ""
row "  messages" axfr_msg ""
row "  octets" axfr_oct B
row "UDP rate during an AXFR" qps_x "q/s"
row "  lowest 1-second rate" qmin_x "q/s"
row "  that AXFR's wall time" axfr_x s
row "one-record change -> new serial answered" serial_t s
row "IXFR of that change, wall" ixfr s
row "  records" ixfr_rr ""
row "  octets" ixfr_oct B
row "restart to signed SOA (same files)" restart s
