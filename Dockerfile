# syntax=docker/dockerfile:1
# Fleet mesh: one image for the gateway, every service, migrations and Kafka
# topic creation. The first argument selects the component:
#
#   docker run IMAGE gateway | fleet | rental | maintenance | identity | ledger
#   docker run IMAGE migrate [service ...]
#   docker run IMAGE create-topics [--dry-run]
#   docker run IMAGE list
#
# Build:   docker build -t fleet-mesh:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# Without Docker, the same steps: scripts/deploy/build-image-context.sh (docs/deploy-eks.md).
#
# Pin NODE_IMAGE by digest in your build pipeline (node:24.x.y-bookworm-slim@sha256:...);
# the tag below is the Node version the project is developed and tested with.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---------------------------------------------------------------- build --
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Dependencies first (cached while package*.json do not change). No install
# scripts: the `node` devDependency would download a second Node binary, and
# the rest (esbuild, buf, protobufjs) are not needed to compile.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json ./
COPY gen ./gen
COPY services ./services
COPY gateway ./gateway
COPY scripts ./scripts
COPY migrations ./migrations
# Compile, drop devDependencies, and assemble /out/app with the same script
# the project uses without Docker.
RUN ./node_modules/.bin/tsc -p . \
 && npm prune --omit=dev --ignore-scripts \
 && bash scripts/deploy/build-image-context.sh assemble /src /out/app

# -------------------------------------------------------------- runtime --
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="fleet-mesh" \
      org.opencontainers.image.description="Fleet mesh gateway, services, migrations and topic creation" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# Package managers are not needed at run time; the runtime user has a fixed
# uid/gid (10001) matching the Helm chart's securityContext.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && groupadd --system --gid 10001 fleetmesh \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin fleetmesh
WORKDIR /app
# Owned by root and not writable by the runtime user: the root filesystem can
# be mounted read-only; the processes write nothing but (optionally) /tmp.
COPY --from=build --chown=root:root /out/app/ /app/
ENV NODE_ENV=production \
    TMPDIR=/tmp
USER 10001:10001
# gateway 8080 (+ ops 9460); services 50061-50065 (+ ops 9461-9465)
EXPOSE 8080 9460 50061 50062 50063 50064 50065 9461 9462 9463 9464 9465
ENTRYPOINT ["node", "--enable-source-maps", "/app/bin/run.mjs"]
CMD ["list"]
