#!/usr/bin/env bash
# bench/container.sh: the Docker image's size and start-up time, measured with podman (as root).
#   start-up = `podman run -d` issued -> first answer to `kdig +dnssec ZONE SOA` that carries an RRSIG
#   stop     = `podman stop -t 30` (SIGTERM to node as PID 1) -> container gone
# Median of RUNS runs (default 5); every run starts from empty /keys and /state volumes (so key generation and
# the first signing are included: the worst case, a first start). Uses the image DANE_NS_IMAGE (default
# localhost/dane-ns:test, which scripts/container-test.sh builds); --network host on a free loopback port.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
IMAGE=${DANE_NS_IMAGE:-localhost/dane-ns:test}
# DANE_NS_BASE_KIT: as in scripts/container-test.sh; its containers.conf holds the podman settings of a machine
# that needs some.
KIT=${DANE_NS_BASE_KIT:-}
[ -n "$KIT" ] && [ -f "$KIT/containers.conf" ] && export CONTAINERS_CONF=${CONTAINERS_CONF:-$(cd "$KIT" && pwd)/containers.conf}
PODMAN=(podman --storage-driver overlay)
"${PODMAN[@]}" image exists "$IMAGE" || { echo "bench/container.sh: no image $IMAGE (bash scripts/container-test.sh builds it)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/dane-ns-cbench.XXXXXX)
CTR=dane-ns-cbench-$$
trap 'timeout 40 "${PODMAN[@]}" rm -f -v -t 0 "$CTR" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/zones" "$WORK/certs"
cp zones/example.com.yaml "$WORK/zones/"
sed -i '/^tlsa:/,$d' "$WORK/zones/example.com.yaml"   # the sample's certificate paths do not exist here
chmod -R a+rX "$WORK"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
now_ms() { date +%s%3N; }
starts=() stops=()
for i in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/keys" "$WORK/state"
  mkdir "$WORK/keys" "$WORK/state"
  chown 65532:65532 "$WORK/keys" "$WORK/state"
  t=$(now_ms)
  timeout 60 "${PODMAN[@]}" run -d --name "$CTR" --network host -e "DANE_NS_LISTEN=127.0.0.1:$PORT" -e DANE_NS_RESOLVER=none \
    -v "$WORK/zones:/zones:ro" -v "$WORK/keys:/keys" -v "$WORK/state:/state" -v "$WORK/certs:/certs:ro" \
    "$IMAGE" >/dev/null 2>&1
  ok=
  for _ in $(seq 1 600); do
    if kdig @127.0.0.1 -p "$PORT" +norec +dnssec +timeout=1 +retry=0 example.com. SOA 2>/dev/null | grep -q RRSIG; then ok=1; break; fi
    sleep 0.05
  done
  [ -n "$ok" ] || { "${PODMAN[@]}" logs "$CTR" | tail -n 5 >&2; echo "run $i: no signed SOA within 30 s" >&2; exit 1; }
  starts+=($(( $(now_ms) - t )))
  t=$(now_ms)
  timeout 60 "${PODMAN[@]}" stop -t 30 "$CTR" >/dev/null 2>&1
  stops+=($(( $(now_ms) - t )))
  timeout 40 "${PODMAN[@]}" rm -f -v "$CTR" >/dev/null 2>&1
done

size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
base=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile | head -n1)
bsize=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "docker.io/library/$base" 2>/dev/null || echo 0)
echo "image $IMAGE: $(( size / 1000000 )) MB (base $base: $(( bsize / 1000000 )) MB, dane-ns layers: $(( (size - bsize) / 1000000 )) MB)"
echo "start-up (podman run -> signed SOA answered), $RUNS runs: median $(printf '%s\n' "${starts[@]}" | median) ms (${starts[*]})"
echo "stop (podman stop -t 30, SIGTERM), $RUNS runs: median $(printf '%s\n' "${stops[@]}" | median) ms (${stops[*]})"
