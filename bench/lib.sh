# Shared by the bench scripts (sourced, not run): messages, tool checks, a temp directory and the server
# processes the script started, stopped by PID on exit; a free loopback port; CPU pinning.
# The sourcing script sets BENCH_NAME (the prefix of its messages) before sourcing.

# The node flags dane-ns is served with, as everywhere it is started (package.json start, the Dockerfile's
# ENTRYPOINT, the shebang of src/cli.ts; test/meta/launch.test.ts checks they agree). DANE_NS_NODE_FLAGS
# overrides them for an experiment.
read -r -a SERVE_NODE_FLAGS <<<"${DANE_NS_NODE_FLAGS---max-semi-space-size=4}"

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
