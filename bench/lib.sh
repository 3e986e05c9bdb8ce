# Shared by the bench scripts (sourced, not run): messages, tool checks, a temp directory and the server
# processes the script started, stopped by PID on exit; a free loopback port; CPU pinning.
# The sourcing script sets BENCH_NAME (the prefix of its messages) before sourcing.

# The node flags dane-ns is served with, as everywhere it is started (package.json start, the Dockerfile's
# ENTRYPOINT, the shebang of src/cli.ts; test/meta/launch.test.ts checks they agree). DANE_NS_NODE_FLAGS
# overrides them for an experiment.
read -r -a SERVE_NODE_FLAGS <<<"${DANE_NS_NODE_FLAGS---max-semi-space-size=4}"
# The servers a bench starts look up no parent name servers through the machine's resolver (serve --resolver).
export DANE_NS_RESOLVER=none

die() { echo "${BENCH_NAME:-bench}: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || die "missing tool '$1' (Debian package $2)"; }
tool() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

# bench_init PREFIX WAIT: makes $TMP (removed on exit) and $PIDS (every PID in it gets SIGTERM on exit, then
# SIGKILL after WAIT tenths of a second).
bench_init() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  PIDS=()
  STOP_WAIT=$2
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 "$STOP_WAIT"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 "$STOP_WAIT"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}

# A loopback port free for both UDP and TCP.
free_port() {
  node -e '
    const net = require("node:net"), dgram = require("node:dgram");
    (function attempt(n) {
      const s = net.createServer().listen({ host: "127.0.0.1", port: 0 }, () => {
        const port = s.address().port;
        s.close(() => {
          const u = dgram.createSocket("udp4");
          u.once("error", () => { u.close(); if (n > 0) attempt(n - 1); else process.exit(1); });
          u.bind({ address: "127.0.0.1", port }, () => u.close(() => console.log(port)));
        });
      });
    })(20);'
}

# CPU pinning unless PIN=0: the server on CPU 0, the load generator on the others (less noise on small
# machines). Sets NCPU, SERVER_PIN and CLIENT_PIN (empty arrays when not pinning).
pin_cpus() {
  NCPU=$(nproc 2>/dev/null || echo 1)
  SERVER_PIN=()
  CLIENT_PIN=()
  if [ "${PIN:-auto}" != 0 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
    SERVER_PIN=(taskset -c 0)
    CLIENT_PIN=(taskset -c "1-$((NCPU - 1))")
  fi
}

# The figures of one dnsperf output file: DNSPERF_QPS (empty when dnsperf printed no rate), DNSPERF_LOST
# ("N (P%)") and DNSPERF_CODES (the "Response codes:" line).
dnsperf_result() { # file
  DNSPERF_QPS=$(awk '/Queries per second:/ { print $4 }' "$1")
  DNSPERF_LOST=$(awk '/Queries lost:/ { print $3, $4 }' "$1")
  DNSPERF_CODES=$(sed -n 's/^ *Response codes: *//p' "$1")
}

# The "hit" workload of a zone in RFC 1035 syntax with absolute owner names (as `zone export` and
# bench/gen-zone.mjs write it): every owner name and type present, one dnsperf line each, wildcard owners
# instantiated; RRSIG, NSEC and NSEC3 types left out (the workload asks for data).
hit_queries() { # zone-file
  awk '
    /^[ \t]*($|;|\$)/ { next }
    {
      owner = $1; type = ""
      for (i = 2; i <= NF; i++) if (toupper($i) == "IN") { type = toupper($(i + 1)); break }
      if (type == "" || type ~ /^(RRSIG|NSEC|NSEC3|NSEC3PARAM)$/) next
      if (owner !~ /\.$/) next   # expects absolute owners (as zone export prints them)
      sub(/^\*\./, "bench-wildcard.", owner)
      key = owner " " type
      if (!(key in seen)) { seen[key] = 1; print key }
    }' "$1"
}

# Signed servers for the DO=1 benches (bench/dnssec-dnsperf.sh, bench/adversarial.sh): they use $TMP/zone.txt
# (Knot), $ZONES_DIR (dane-ns), $ZONE, $KNOT_UDP_WORKERS, $BENCH_CLI and the pinning of pin_cpus; each sets
# SERVER_PID and returns once the server answers a signed SOA.
# Ready once the apex SOA comes back with its RRSIG (the zone is signed and served).
wait_signed() { # name port pid log
  local name=$1 port=$2 pid=$3 log=$4
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { echo "${BENCH_NAME:-bench}: $name exited during start:" >&2; cat "$log" >&2; exit 1; }
    if kdig +dnssec +norec +timeout=1 +retry=0 @127.0.0.1 -p "$port" "$ZONE." SOA 2>/dev/null | grep -q RRSIG; then
      return 0
    fi
    sleep 0.1
  done
  echo "${BENCH_NAME:-bench}: $name did not answer a signed SOA $ZONE. on port $port within 30 s:" >&2
  cat "$log" >&2
  exit 1
}

start_knot_signed() { # port: Knot DNS signing $TMP/zone.txt as $ZONE
  local port=$1 dir="$TMP/knot"
  mkdir -p "$dir/run" "$dir/db" "$dir/zones" "$dir/keys"
  { echo "\$ORIGIN $ZONE."; cat "$TMP/zone.txt"; } >"$dir/zones/zone.txt"
  # The integration tests' oracle policy (test/integration/helpers/knot.ts): ECDSA P-256, NSEC, no CDS/CDNSKEY.
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
    zonefile-load: whole
    journal-content: none
    dnssec-signing: on
    dnssec-policy: bench
zone:
  - domain: "$ZONE."
    file: "$dir/zones/zone.txt"
EOF
  "${SERVER_PIN[@]}" "$(tool knotd)" -c "$dir/knot.conf" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_signed knot "$port" "$SERVER_PID" "$dir/log"
}

start_dane_signed() { # port: dane-ns serving $ZONES_DIR with its own keys
  local port=$1 dir="$TMP/dane-ns"
  mkdir -p "$dir/state" "$dir/keys"
  "${SERVER_PIN[@]}" node "${SERVE_NODE_FLAGS[@]}" "$BENCH_CLI" serve --zones "$ZONES_DIR" --state "$dir/state" --keys "$dir/keys" \
    --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_signed dane-ns "$port" "$SERVER_PID" "$dir/log"
}
