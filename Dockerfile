# dane-ns: authoritative DNSSEC name server with automatic SMTP DANE TLSA records.
#
#   docker build -t dane-ns .
#   docker run -d --name dane-ns -p 53:53/udp -p 53:53/tcp \
#     -v "$PWD/zones:/zones:ro" -v dane-ns-keys:/keys -v dane-ns-state:/state -v /etc/letsencrypt:/certs:ro dane-ns
#
# Two stages: `build` compiles the TypeScript and the native batched-UDP engine (node-gyp: python3, make, g++)
# against the same Node as the runtime stage, then drops the dev dependencies; the runtime stage holds Node, the
# compiled server, its two runtime packages (yaml, chokidar) and the addon, and runs as UID 65532.
#
# Base: the current Node LTS on Debian slim. Both stages must use the same image: the addon is built against that
# Node's headers (N-API, but built once, for this ABI and glibc).
ARG NODE_IMAGE=node:26-trixie-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci` installs exactly what the committed lock lists; `npm prune --omit=dev` below then leaves only the
# runtime packages (yaml, chokidar, readdirp), which the runtime stage copies: no registry access there.
# --ignore-scripts: no dependency needs an install script (the addon is built below).
RUN npm ci --no-audit --no-fund --ignore-scripts
# node-gyp needs this Node's headers: the official image ships them in /usr/local/include/node; an image without
# them gets the same version's from the npm registry (node-gyp would download them from nodejs.org instead).
RUN if [ ! -f /usr/local/include/node/node_api.h ]; then \
      v=$(node -p process.versions.node) && p=node-linux-$(node -p process.arch) && cd /tmp \
      && npm pack --silent "$p@$v" >/dev/null \
      && tar -xzf "$p-$v.tgz" -C /usr/local --strip-components=1 package/include \
      && rm -f "$p-$v.tgz"; \
    fi
COPY tsconfig.json ./
COPY scripts ./scripts
COPY native/binding.gyp native/udp_batch.c ./native/
COPY src ./src
RUN npm run build \
 && test -f native/build/Release/udp_batch.node \
 && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete \
 && chmod 0755 dist/cli.js

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="dane-ns" \
      org.opencontainers.image.description="Authoritative DNSSEC name server that keeps SMTP DANE TLSA records in step with certificates" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build/Release/udp_batch.node ./native/build/Release/udp_batch.node
# `dane-ns` on PATH (for `docker exec NAME dane-ns ds example.com`, and the HEALTHCHECK). The four data
# directories belong to the server's UID: keys and state are written, zones and certs only read (mount those
# read-only). A bind-mounted host directory must be writable by UID 65532 for /keys and /state.
RUN ln -s /app/dist/cli.js /usr/local/bin/dane-ns \
 && mkdir -p /zones /keys /state /certs \
 && chown 65532:65532 /keys /state \
 && chmod 0700 /keys
ENV NODE_ENV=production \
    DANE_NS_ZONES=/zones \
    DANE_NS_KEYS=/keys \
    DANE_NS_STATE=/state \
    DANE_NS_LISTEN=0.0.0.0:53,[::]:53
VOLUME ["/zones", "/keys", "/state", "/certs"]
EXPOSE 53/udp 53/tcp
# Numeric, like CoreDNS's distroless nonroot: no passwd entry needed, and Kubernetes' runAsNonRoot can check it.
# Port 53 as non-root: Docker sets net.ipv4.ip_unprivileged_port_start=0 in a container's own network namespace;
# otherwise (e.g. --network host, or podman) add --cap-add NET_BIND_SERVICE or listen on a high port.
USER 65532:65532
# A real signed query against the running server: DNSKEY and SOA of every zone in /zones, the SOA's RRSIG
# verified and current. Uses the first DANE_NS_LISTEN address (a wildcard means loopback).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["dane-ns", "healthcheck"]
# Node is PID 1: dane-ns handles SIGTERM/SIGINT (closes its sockets and exits) and SIGHUP (reloads the zones).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/cli.js"]
CMD ["serve"]
