# rtpprobe container image (Node 24 LTS, Debian bookworm; the same Node version .ci/setup tests with).
#   docker build -t rtpprobe .
#   docker run -d --name rtpprobe --network host \
#     --cap-drop ALL --cap-add NET_RAW --cap-add NET_ADMIN --cap-add SETUID --cap-add SETGID \
#     -v /etc/rtpprobe:/etc/rtpprobe:ro \
#     -e RTPPROBE_CAPTURE_INTERFACE=eth1 -e RTPPROBE_HEP_COLLECTORS=udp://homer.example.net:9060 \
#     rtpprobe
#   docker run --rm --cap-drop ALL -v /srv/pcaps:/data:ro rtpprobe replay /data/call.pcap --no-hep
# --network host: the probe must see the host's mirror interface. `run` starts as root with only the
# capabilities granted above, opens the capture, then switches to user rtpprobe (process.user), which
# drops every capability. `replay` needs no capability at all. One node binary, no file capabilities.
# The build commands are the ones .ci/setup uses; test/ops/dockerfile.test.ts keeps them in step.

# ---------------------------------------------------------------------------------------------- build
FROM node:24.22.3-bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
# libpcap-dev: headers for the native capture addon; python3, make, g++: node-gyp.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libpcap-dev python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY src/capture/native ./src/capture/native
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY config ./config
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf src/capture/native/build/Release/obj.target \
 && find src -name '*.ts' -delete \
 && find dist -name '*.d.ts' -delete

# -------------------------------------------------------------------------------------------- runtime
FROM node:24.22.3-bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# libpcap0.8: the runtime library libpcap-dev builds against.
# /usr/local/bin/rtpprobe uses /etc/rtpprobe/rtpprobe.yaml when it exists: a mounted directory may be
# empty (then the built-in defaults and RTPPROBE_* variables apply). The reference file with every
# setting is /opt/rtpprobe/config/rtpprobe.yaml.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libpcap0.8 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system rtpprobe && useradd --system --gid rtpprobe --no-create-home --shell /usr/sbin/nologin rtpprobe \
 && mkdir -p /etc/rtpprobe \
 && printf '%s\n' '#!/bin/sh' \
    'if [ -z "$RTPPROBE_CONFIG" ] && [ -f /etc/rtpprobe/rtpprobe.yaml ]; then export RTPPROBE_CONFIG=/etc/rtpprobe/rtpprobe.yaml; fi' \
    'exec node /opt/rtpprobe/dist/cli.js "$@"' > /usr/local/bin/rtpprobe \
 && chmod 0755 /usr/local/bin/rtpprobe
WORKDIR /opt/rtpprobe
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src ./src
COPY --from=build /app/config ./config
# The metrics endpoint must be reachable from outside the container for scraping and the healthcheck.
ENV RTPPROBE_METRICS_LISTEN=0.0.0.0 \
    RTPPROBE_PROCESS_USER=rtpprobe \
    RTPPROBE_LOG_FORMAT=json \
    NODE_ENV=production
EXPOSE 9470
# Only a `run` serves /healthz (a replay has no metrics endpoint): other commands count as healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/bin/sh", "-c", "case \"$(tr '\\0' ' ' </proc/1/cmdline)\" in *' run'*) exec rtpprobe health ;; *) exit 0 ;; esac"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rtpprobe"]
CMD ["run"]
