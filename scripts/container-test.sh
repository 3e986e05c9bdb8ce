#!/usr/bin/env bash
# scripts/container-test.sh: builds the image from the real Dockerfile with podman and checks it as an operator
# would use it. Run as root (CI: .ci/run; the test suite runs it from test/integration/container.test.ts).
#
#   1. base image: node:<major>-<suite>-slim from the Dockerfile's NODE_IMAGE, used when present and pulled when
#      not, as `docker build` does on a user's machine; only where no registry serves it (the pull fails) it is
#      made with the base kit's make-node-base.sh (DANE_NS_BASE_KIT below), and without a kit that is a FAIL
#   2. podman build (--format docker keeps the HEALTHCHECK; npm's CA bundle and registry mounted for the build only)
#   3. podman run with the four volumes (/zones /keys /state /certs, host temp dirs) and --network host on a free
#      loopback port, then: a signed SOA (kdig +dnssec), the start-up time, keys written to /keys by UID 65532, a
#      validating Unbound (trust anchor from `podman exec NAME dane-ns ds ZONE`) says AD for the TLSA, a
#      certificate rotated in /certs is followed by the TLSA, SIGHUP reloads the zone, `podman healthcheck run`
#      becomes healthy, PID 1 runs as UID 65532, `podman stop -t 30` (SIGTERM) stops it within 5 s, exit code 0
#   4. the image's own defaults (0.0.0.0:53 and [::]:53) as UID 65532 in a private network namespace: they bind
#      with --cap-add NET_BIND_SERVICE, and fail with EACCES without it
# Every step is bounded in time; containers, Unbound and temp dirs are removed on exit; only loopback is used.
# Prints one line per check ("ok   ..." or "FAIL ...") and exits 1 at the first failure.
#
# Environment: DANE_NS_IMAGE (tag to build, default localhost/dane-ns:test); DANE_NS_BASE_KIT (optional): a
# directory holding make-node-base.sh <node-major> <debian-suite>, which builds a stand-in for the official base
# image on a machine that reaches no container registry, and containers.conf, that machine's podman settings
# (exported as CONTAINERS_CONF unless that is set already). A user's machine needs neither.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

fail() { echo "FAIL $*"; exit 1; }
ok() { echo "ok   $*"; }
now_ms() { date +%s%3N; }

[ "$(id -u)" = 0 ] || fail "container-test.sh must run as root (podman, buildah and debootstrap as root)"
for t in podman buildah runc kdig unbound unbound-checkconf openssl node npm timeout; do
  command -v "$t" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$t" >/dev/null 2>&1 \
    || fail "required tool '$t' not found (.ci/run installs podman buildah runc debootstrap knot-dnsutils unbound openssl)"
done
export PATH="$PATH:/usr/sbin:/sbin"
KIT=
if [ -n "${DANE_NS_BASE_KIT:-}" ]; then
  [ -f "$DANE_NS_BASE_KIT/make-node-base.sh" ] \
    || fail "DANE_NS_BASE_KIT=$DANE_NS_BASE_KIT holds no make-node-base.sh"
  KIT=$(cd "$DANE_NS_BASE_KIT" && pwd)
  [ -f "$KIT/containers.conf" ] && export CONTAINERS_CONF=${CONTAINERS_CONF:-$KIT/containers.conf}
fi
PODMAN=(podman --storage-driver overlay)
IMAGE=${DANE_NS_IMAGE:-localhost/dane-ns:test}
ZONE=example.net
CTR=dane-ns-ctest-$$
CTR2=dane-ns-ctest53-$$
CTR3=

WORK=$(mktemp -d /tmp/dane-ns-ctest.XXXXXX)
UNBOUND_PID=
cleanup() {
  local rc=$?
  for c in "$CTR" "$CTR2" "${CTR3:-}"; do
    [ -n "$c" ] && timeout -k 10 40 "${PODMAN[@]}" rm -f -v -i -t 0 "$c" >/dev/null 2>&1 || true
  done
  [ -n "$UNBOUND_PID" ] && kill "$UNBOUND_PID" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port free for both UDP and TCP (the server needs the same number on both).
free_port() {
  node -e '
    const net = require("net"), dgram = require("dgram");
    (function attempt(n) {
      const s = net.createServer().listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
        const p = s.address().port;
        s.close(() => {
          const u = dgram.createSocket("udp4");
          u.once("error", () => { u.close(); if (n > 0) attempt(n - 1); else process.exit(1); });
          u.bind({ address: "127.0.0.1", port: p, exclusive: true }, () => u.close(() => console.log(p)));
        });
      });
    })(20);'
}

# ---- 1. base image ---------------------------------------------------------------------------------------------
BASE=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile | head -n1)
[[ $BASE =~ ^node:([0-9]+)-([a-z]+)-slim$ ]] || fail "Dockerfile: ARG NODE_IMAGE=$BASE is not node:<major>-<suite>-slim"
MAJOR=${BASH_REMATCH[1]} SUITE=${BASH_REMATCH[2]}
if timeout -k 10 30 "${PODMAN[@]}" image exists "docker.io/library/$BASE"; then
  ok "base image $BASE present"
elif timeout -k 10 600 "${PODMAN[@]}" pull "docker.io/library/$BASE" >"$WORK/pull.log" 2>&1; then
  ok "base image $BASE pulled"
else
  [ -n "$KIT" ] || fail "base image $BASE: the pull failed ($(tail -n 1 "$WORK/pull.log")) and DANE_NS_BASE_KIT \
names no kit to build it (a directory with make-node-base.sh and, if podman needs it, containers.conf)"
  t=$(now_ms)
  STORAGE_DRIVER=overlay timeout 900 bash "$KIT/make-node-base.sh" "$MAJOR" "$SUITE" >"$WORK/base.log" 2>&1 \
    || { tail -n 30 "$WORK/base.log"; fail "make-node-base.sh $MAJOR $SUITE"; }
  ok "base image $BASE made with make-node-base.sh in $(( ($(now_ms) - t) / 1000 )) s (the pull failed)"
fi

# ---- 2. build ----------------------------------------------------------------------------------------------------
# npm inside the build trusts only what /usr/local/etc/npmrc says: the host's registry and CA bundle, mounted for
# the build only (nothing reaches the layers).
mkdir -m 0755 "$WORK/npmetc"
printf 'cafile=/usr/local/etc/ca.pem\nregistry=%s\n' "$(npm config get registry 2>/dev/null)" >"$WORK/npmetc/npmrc"
cp /etc/ssl/certs/ca-certificates.crt "$WORK/npmetc/ca.pem"
chmod 0644 "$WORK/npmetc/"*
t=$(now_ms)
timeout -k 10 900 "${PODMAN[@]}" build --pull=never --format docker --network host \
  --volume "$WORK/npmetc:/usr/local/etc:ro" -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log"; fail "podman build"; }
# Ask the image, not the build log: a build step served from podman's layer cache prints nothing.
timeout -k 10 60 "${PODMAN[@]}" run --rm --network none --entrypoint test "$IMAGE" -f /app/native/build/Release/udp_batch.node \
  || fail "the native UDP engine is not in the image (/app/native/build/Release/udp_batch.node)"
SIZE=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
ok "podman build $IMAGE in $(( ($(now_ms) - t) / 1000 )) s, image size $(( SIZE / 1000000 )) MB"
HC=$("${PODMAN[@]}" image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
[[ $HC == *'dane-ns'*'healthcheck'* ]] || fail "image has no HEALTHCHECK running dane-ns healthcheck: $HC"
ok "image HEALTHCHECK: $HC"

# ---- 3. volumes: zone with automatic TLSA, certificate, empty keys and state ------------------------------------
mkdir -p "$WORK/zones" "$WORK/keys" "$WORK/state" "$WORK/certs/mail"
chown 65532:65532 "$WORK/keys" "$WORK/state"
chmod 0755 "$WORK" "$WORK/zones" "$WORK/certs" "$WORK/certs/mail"
cat >"$WORK/zones/$ZONE.yaml" <<EOF
origin: $ZONE.
ttl: 300
soa: { mname: ns1, rname: hostmaster@$ZONE, serial: auto, refresh: 7200, retry: 3600, expire: 1209600, minimum: 60 }
records:
  "@": { NS: ns1, MX: "10 mail" }
  ns1: { A: 127.0.0.1 }
  mail: { A: 127.0.0.1 }
tlsa:
  - host: mail
    cert: /certs/mail/fullchain.pem
    ttl: 5
EOF
chmod 0644 "$WORK/zones/$ZONE.yaml"
# make_cert DIR: a fresh EC key and self-signed certificate for mail.$ZONE in DIR/fullchain.pem.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=mail.$ZONE" \
    -keyout "$1/privkey.pem" -out "$1/fullchain.pem" >/dev/null 2>&1 || fail "openssl req"
  chmod 0644 "$1/fullchain.pem" "$1/privkey.pem"
}
# tlsa_of FILE: the 3 1 1 record data of FILE, computed on the host with openssl.
tlsa_of() {
  echo "3 1 1 $(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex | awk '{print toupper($NF)}')"
}
make_cert "$WORK/certs/mail"
TLSA1=$(tlsa_of "$WORK/certs/mail/fullchain.pem")

# ---- 4. run ------------------------------------------------------------------------------------------------------
PORT=$(free_port)
KDIG=(kdig @127.0.0.1 -p "$PORT" +norec +timeout=1 +retry=0)
t=$(now_ms)
timeout -k 10 60 "${PODMAN[@]}" run -d --name "$CTR" --network host -e "DANE_NS_LISTEN=127.0.0.1:$PORT" -e DANE_NS_RESOLVER=none \
  -v "$WORK/zones:/zones:ro" -v "$WORK/keys:/keys" -v "$WORK/state:/state" -v "$WORK/certs:/certs:ro" \
  "$IMAGE" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err"; fail "podman run"; }
started=
for _ in $(seq 1 300); do
  if out=$("${KDIG[@]}" +dnssec "$ZONE." SOA 2>/dev/null) && grep -q 'RRSIG' <<<"$out"; then started=1; break; fi
  sleep 0.1
done
[ -n "$started" ] || { "${PODMAN[@]}" logs "$CTR" | tail -n 20; fail "no signed SOA from the container within 30 s"; }
ok "kdig +dnssec $ZONE. SOA: answer with RRSIG $(( $(now_ms) - t )) ms after podman run"
# The line may reach podman's log a moment after the first answer (conmon copies the output): asked for 5 s.
logged=
for _ in $(seq 1 50); do
  if "${PODMAN[@]}" logs "$CTR" 2>/dev/null | grep -q '"event":"listening"'; then logged=1; break; fi
  sleep 0.1
done
[ -n "$logged" ] || fail "no listening log line"
"${PODMAN[@]}" logs "$CTR" | grep -q '"udpEngine":"batch"' \
  || fail "the server does not use the native UDP engine: $("${PODMAN[@]}" logs "$CTR" | grep -i -m 2 udp)"
ok "native batched UDP engine in use (\"udpEngine\":\"batch\")"
owners=$(find "$WORK/keys" -type f -printf '%u:%U\n' | sort -u)
[ -n "$owners" ] && [[ $owners =~ ^[^:]*:65532$ ]] || fail "keys volume: expected key files owned by 65532, found '${owners:-none}'"
ok "keys written to the /keys volume, owned by UID 65532 ($(find "$WORK/keys" -type f | wc -l) files)"

# ---- 5. validating Unbound, trust anchor from the container -----------------------------------------------------
DS=$(timeout -k 10 30 "${PODMAN[@]}" exec "$CTR" dane-ns ds "$ZONE") || fail "podman exec $CTR dane-ns ds $ZONE"
grep -q "IN DS" <<<"$DS" || fail "dane-ns ds printed no DS: $DS"
UPORT=$(free_port)
mkdir "$WORK/unbound"
printf '%s\n' "$DS" >"$WORK/unbound/anchors.txt"
cat >"$WORK/unbound/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$UPORT
  port: $UPORT
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  directory: "$WORK/unbound"
  chroot: ""
  username: ""
  pidfile: "$WORK/unbound/unbound.pid"
  use-syslog: no
  logfile: "$WORK/unbound/unbound.log"
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  so-reuseport: no
  module-config: "validator iterator"
  trust-anchor-file: "$WORK/unbound/anchors.txt"
  trust-anchor-signaling: no
  root-key-sentinel: no
  harden-dnssec-stripped: yes
  cache-max-ttl: 1
  cache-max-negative-ttl: 1
  prefetch: no
remote-control:
  control-enable: no
stub-zone:
  name: "$ZONE."
  stub-addr: 127.0.0.1@$PORT
  stub-prime: no
stub-zone:
  name: "."
  stub-addr: 127.0.0.1@$PORT
  stub-prime: no
EOF
unbound-checkconf "$WORK/unbound/unbound.conf" >/dev/null || fail "unbound-checkconf"
unbound -d -c "$WORK/unbound/unbound.conf" >"$WORK/unbound/stdout.log" 2>&1 &
UNBOUND_PID=$!
UKDIG=(kdig @127.0.0.1 -p "$UPORT" +timeout=2 +retry=1 +dnssec)
# validated NAME TYPE: prints the answer's data lines when Unbound says NOERROR with AD; fails otherwise
validated() {
  local out
  out=$("${UKDIG[@]}" "$1" "$2" 2>&1) || return 1
  grep -q 'status: NOERROR' <<<"$out" && grep -Eq 'Flags:[^;]* ad' <<<"$out" || return 1
  awk -v t="$2" '$1 !~ /^;/ && $4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' <<<"$out"
}
got=
for _ in $(seq 1 100); do
  if got=$(validated "_25._tcp.mail.$ZONE." TLSA); then break; fi
  got=; sleep 0.1
done
[ -n "$got" ] || { tail -n 20 "$WORK/unbound/unbound.log"; "${UKDIG[@]}" "_25._tcp.mail.$ZONE." TLSA; fail "Unbound did not validate the TLSA (trust anchor: $DS)"; }
norm() { tr -d ' \n' | tr a-f A-F; }
[ "$(norm <<<"$got")" = "$(norm <<<"$TLSA1")" ] || fail "validated TLSA '$got' is not the certificate's '$TLSA1'"
ok "validating Unbound (anchor from podman exec dane-ns ds): _25._tcp.mail.$ZONE. TLSA secure (AD) = $TLSA1"

# ---- 6. certificate rotation in the mounted /certs ---------------------------------------------------------------
mkdir "$WORK/newcert"
make_cert "$WORK/newcert"
TLSA2=$(tlsa_of "$WORK/newcert/fullchain.pem")
[ "$TLSA2" != "$TLSA1" ] || fail "the new certificate has the old key"
cp "$WORK/newcert/fullchain.pem" "$WORK/certs/mail/.fullchain.pem.new"
t=$(now_ms)
mv -f "$WORK/certs/mail/.fullchain.pem.new" "$WORK/certs/mail/fullchain.pem"   # rename into place, as certbot/acme.sh do
# served: the TLSA record data the server publishes now, one normalised record per line, sorted
served() { "${KDIG[@]}" +short "_25._tcp.mail.$ZONE." TLSA 2>/dev/null | while read -r l; do norm <<<"$l"; echo; done | sort; }
followed=
for _ in $(seq 1 100); do
  if served | grep -qx "$(norm <<<"$TLSA2")"; then followed=1; break; fi
  sleep 0.1
done
[ -n "$followed" ] || fail "the TLSA did not follow the rotated certificate within 10 s (served: $(served | tr '\n' ' '))"
ok "certificate rotated in /certs: new TLSA served $(( $(now_ms) - t )) ms later = $TLSA2"
# The old record stays for 2 x TTL (10 s here) for resolvers that cached it (README "Automatic TLSA"), then goes.
retired=
for _ in $(seq 1 300); do
  if [ "$(served)" = "$(norm <<<"$TLSA2")" ]; then retired=1; break; fi
  sleep 0.1
done
[ -n "$retired" ] || fail "the old TLSA was not retired within 30 s (served: $(served | tr '\n' ' '))"
ok "old TLSA retired $(( $(now_ms) - t )) ms after the rotation (2 x TTL = 10 s)"
got=
for _ in $(seq 1 50); do
  if got=$(validated "_25._tcp.mail.$ZONE." TLSA) && [ "$(norm <<<"$got")" = "$(norm <<<"$TLSA2")" ]; then break; fi
  got=; sleep 0.2
done
[ -n "$got" ] || fail "Unbound did not validate the rotated TLSA"
ok "validating Unbound: rotated TLSA secure (AD)"

# ---- 7. SIGHUP reloads the zones ---------------------------------------------------------------------------------
sed -i 's/^  mail: { A: 127.0.0.1 }$/  mail: { A: 127.0.0.1 }\n  reload: { TXT: after-sighup }/' "$WORK/zones/$ZONE.yaml"
timeout -k 10 30 "${PODMAN[@]}" kill --signal HUP "$CTR" >/dev/null || fail "podman kill --signal HUP"
reloaded=
for _ in $(seq 1 100); do
  if "${KDIG[@]}" +short "reload.$ZONE." TXT 2>/dev/null | grep -q after-sighup; then reloaded=1; break; fi
  sleep 0.1
done
[ -n "$reloaded" ] || fail "SIGHUP: the edited zone was not served within 10 s"
ok "podman kill --signal HUP: edited zone served"

# ---- 8. health check, user --------------------------------------------------------------------------------------
healthy=
t=$(now_ms)
for _ in $(seq 1 30); do
  if hc=$(timeout -k 10 20 "${PODMAN[@]}" healthcheck run "$CTR" 2>&1); then healthy=1; break; fi
  sleep 1
done
[ -n "$healthy" ] || fail "podman healthcheck run $CTR never exited 0 (last: $hc)"
ok "podman healthcheck run: healthy after $(( $(now_ms) - t )) ms${hc:+ ($hc)}"
hcout=$(timeout -k 10 20 "${PODMAN[@]}" exec "$CTR" dane-ns healthcheck) || fail "dane-ns healthcheck in the container: $hcout"
ok "dane-ns healthcheck in the container: $hcout"
uid1=$(timeout -k 10 20 "${PODMAN[@]}" exec "$CTR" awk '/^Uid:/ {print $2}' /proc/1/status) || fail "podman exec awk /proc/1/status"
[ "$uid1" = 65532 ] || fail "PID 1 runs as UID $uid1, not 65532"
cmd1=$(timeout -k 10 20 "${PODMAN[@]}" exec "$CTR" cat /proc/1/cmdline | tr '\0' ' ')
ok "PID 1 ($cmd1) runs as UID $uid1"

# ---- 9. SIGTERM stops it within seconds ---------------------------------------------------------------------------
t=$(now_ms)
timeout -k 10 60 "${PODMAN[@]}" stop -t 30 "$CTR" >/dev/null 2>"$WORK/stop.err" || { cat "$WORK/stop.err"; fail "podman stop"; }
STOP_MS=$(( $(now_ms) - t ))
code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$CTR")
[ "$STOP_MS" -lt 5000 ] || fail "podman stop -t 30 took $STOP_MS ms (SIGTERM not handled?)"
[ "$code" = 0 ] || fail "exit code after SIGTERM: $code"
"${PODMAN[@]}" logs "$CTR" | grep -q '"signal":"SIGTERM"' || fail "no 'stopping' log line for SIGTERM"
ok "podman stop -t 30: stopped in $STOP_MS ms by SIGTERM, exit code 0"

# ---- 10. the image's defaults: 0.0.0.0:53 and [::]:53 as UID 65532 -----------------------------------------------
# A private network namespace (--network none: loopback only), so port 53 is the container's own.
timeout -k 10 60 "${PODMAN[@]}" run -d --name "$CTR2" --network none --cap-add NET_BIND_SERVICE \
  -v "$WORK/zones:/zones:ro" -v "$WORK/keys:/keys" -v "$WORK/state:/state" -v "$WORK/certs:/certs:ro" \
  "$IMAGE" >/dev/null 2>"$WORK/run2.err" || { cat "$WORK/run2.err"; fail "podman run (defaults)"; }
healthy=
for _ in $(seq 1 60); do
  if hc=$(timeout -k 10 20 "${PODMAN[@]}" exec "$CTR2" dane-ns healthcheck 2>&1) \
     && hc6=$(timeout -k 10 20 "${PODMAN[@]}" exec "$CTR2" dane-ns healthcheck --server '[::1]:53' 2>&1); then healthy=1; break; fi
  sleep 0.5
done
[ -n "$healthy" ] || { "${PODMAN[@]}" logs "$CTR2" | tail -n 5; fail "defaults: no healthy answer on 127.0.0.1:53 and [::1]:53 ($hc ${hc6:-})"; }
ok "defaults (DANE_NS_LISTEN=0.0.0.0:53,[::]:53) as UID 65532 with --cap-add NET_BIND_SERVICE: healthy on 127.0.0.1:53 and [::1]:53"
timeout -k 10 60 "${PODMAN[@]}" rm -f -v -i -t 10 "$CTR2" >/dev/null 2>&1 || true
# ... and that the capability (or Docker's net.ipv4.ip_unprivileged_port_start=0) is what makes it work.
# Detached, then waited for: the server must exit by itself (exit code 1) once the bind fails.
CTR3=dane-ns-ctest-nocap-$$
timeout -k 10 60 "${PODMAN[@]}" run -d --name "$CTR3" --network none -v "$WORK/zones:/zones:ro" -v "$WORK/certs:/certs:ro" \
  "$IMAGE" >/dev/null 2>"$WORK/run3.err" || { cat "$WORK/run3.err"; fail "podman run (defaults, no NET_BIND_SERVICE)"; }
state=
for _ in $(seq 1 100); do
  state=$("${PODMAN[@]}" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$CTR3" 2>/dev/null || true)
  [[ $state == exited* ]] && break
  sleep 0.2
done
out=$("${PODMAN[@]}" logs "$CTR3" 2>&1 || true)
[[ $state == exited* ]] || fail "defaults without NET_BIND_SERVICE: still running after 20 s ($state): $(tail -n 2 <<<"$out")"
[ "$state" = "exited 1" ] || fail "defaults without NET_BIND_SERVICE: expected exit code 1, got '$state': $(tail -n 2 <<<"$out")"
grep -q 'EACCES' <<<"$out" || fail "defaults without NET_BIND_SERVICE: expected EACCES, got: $(tail -n 2 <<<"$out")"
timeout -k 10 60 "${PODMAN[@]}" rm -f -v -i "$CTR3" >/dev/null 2>&1 || true
ok "defaults without NET_BIND_SERVICE: exits 1 with 'bind EACCES' (port 53 needs the capability or the sysctl)"

echo "container-test: all checks passed (image $IMAGE, $(( SIZE / 1000000 )) MB, stop $STOP_MS ms)"
