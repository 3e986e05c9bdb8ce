#!/usr/bin/env bash
# `npm run bench` (after `npm run build`): the "hit" workload on the sample zone, dane-ns against Knot DNS.
# Environment variables are passed through to bench/dnsperf.sh (DURATION, ONLY, MODE, ... see its header).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

knotd_bin=$(command -v knotd || echo /usr/sbin/knotd)
{
  echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm), $(nproc) CPUs"
  echo "bench: node $(node --version), $("$knotd_bin" --version 2>/dev/null | head -n1 || echo 'knotd missing')," \
    "$(dnsperf -h 2>&1 | sed -n 's/^Version /dnsperf /p' | head -n1)"
} >&2

echo "== workload: hit (existing names and types of zones/example.com.yaml) =="
ZONE=${ZONE:-example.com} ZONES_DIR=${ZONES_DIR:-zones} bash bench/dnsperf.sh

echo "== workload: mixed (70% existing, 20% random nonexistent names, 10% NODATA/TLSA) =="
tmpq=$(mktemp)
trap 'rm -f "$tmpq"' EXIT
node dist/cli.js zone export "${ZONE:-example.com}" --zones "${ZONES_DIR:-zones}" | node bench/make-queries.mjs "${ZONE:-example.com}" 300000 >"$tmpq"
QUERY_FILE=$tmpq ZONE=${ZONE:-example.com} ZONES_DIR=${ZONES_DIR:-zones} bash bench/dnsperf.sh

# DNSSEC: load + sign time and peak RSS on a generated zone (NAMES, default 100000), then DO=1 throughput
# on the sample zone, both against Knot DNS signing the same zone. SIGN_ZONE names the generated zone.
echo "== DNSSEC: load + sign time and peak RSS, generated zone of ${NAMES:-100000} host names =="
ZONE=${SIGN_ZONE:-bench.example} bash bench/sign.sh

echo "== DNSSEC: DO=1 throughput on workloads hit, mixed and nonexistent names (sample zone, signed by each server) =="
ZONE=${ZONE:-example.com} ZONES_DIR=${ZONES_DIR:-zones} bash bench/dnssec-dnsperf.sh

# Automatic TLSA: certificate file rotated -> new TLSA answered over DNS, 20 rotations.
echo "== TLSA: file change -> new TLSA visible over DNS =="
node bench/tlsa-rotate.mjs
