# rtpprobe container image.
#   docker build -t rtpprobe .
#   docker run -d --name rtpprobe --network host \
#     --cap-drop ALL --cap-add NET_RAW --cap-add NET_ADMIN \
#     -v /etc/rtpprobe:/etc/rtpprobe:ro \
#     -e RTPPROBE_CAPTURE_INTERFACE=eth1 -e RTPPROBE_HEP_COLLECTORS=udp://homer.example.net:9060 \
#     rtpprobe
# --network host: the probe must see the host's mirror interface. NET_RAW/NET_ADMIN must be granted:
# the probe's node binary carries file capabilities, and the kernel refuses to start a binary whose file
# capabilities are outside the container's bounding set ("operation not permitted" at start).
# The build commands are the ones .ci/setup uses; test/ops/dockerfile.test.ts keeps them in step.

# ---------------------------------------------------------------------------------------------- build
FROM node:20-bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
# libpcap-dev: headers for the native capture addon; python3, make, g++: node-gyp.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libpcap-dev python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY config ./config
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf src/*/*.ts src/*.ts src/capture/native/build/Release/obj.target

# -------------------------------------------------------------------------------------------- runtime
FROM node:20-bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# libpcap0.8: the runtime library libpcap-dev builds against. libcap2-bin only to run setcap, then removed.
# The capabilities go on a copy of node used only by the probe, so `node` itself (healthcheck) stays plain.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libpcap0.8 libcap2-bin \
 && cp /usr/local/bin/node /usr/local/bin/rtpprobe-node \
 && setcap cap_net_raw,cap_net_admin+eip /usr/local/bin/rtpprobe-node \
 && apt-get purge -y -qq libcap2-bin && apt-get autoremove -y -qq \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system rtpprobe && useradd --system --gid rtpprobe --no-create-home --shell /usr/sbin/nologin rtpprobe \
 && mkdir -p /etc/rtpprobe
WORKDIR /opt/rtpprobe
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src ./src
COPY --from=build /app/config/rtpprobe.yaml /etc/rtpprobe/rtpprobe.yaml
# The metrics endpoint must be reachable from outside the container for scraping and the healthcheck.
ENV RTPPROBE_CONFIG=/etc/rtpprobe/rtpprobe.yaml \
    RTPPROBE_METRICS_LISTEN=0.0.0.0 \
    RTPPROBE_LOG_FORMAT=json \
    NODE_ENV=production
VOLUME ["/etc/rtpprobe"]
EXPOSE 9090
USER rtpprobe
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RTPPROBE_METRICS_PORT || 9090) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rtpprobe-node", "/opt/rtpprobe/dist/cli.js"]
CMD ["run", "-c", "/etc/rtpprobe/rtpprobe.yaml"]
