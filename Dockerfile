# One image for every service of the stack: `docker run IMAGE worker|scraper|backend|iss-sim`.
# Stages: deps (all npm deps) -> build (tsc once) -> dev (e2e runner, has dev deps)
#                                                -> runtime (production deps + dist only; the default target).
# The base is pinned to a full version of the maintained Node LTS line on Debian 12 (slim).
# Another base with node, npm and a `node` user (uid 1000): --build-arg NODE_IMAGE=... (where no
# registry answers, ops/containers.sh builds one from Debian and sets it).
ARG NODE_IMAGE=node:22.22.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
# Marks every stage of ours, so that ops/containers.sh can prune the images a rebuild leaves
# dangling without touching anybody else's.
LABEL moex-monitoring.image="app"
WORKDIR /app
# Lockfile first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
# .dockerignore keeps node_modules, dist, .git, .env and local state out of this copy.
COPY . .
# Build once, stamp the build (runner.sh rebuilds only when sources are newer than the
# stamp), then gather what the runtime needs in /out: dist, the entry script, the
# package files and any non-TypeScript assets of the services (e.g. the backend's page).
RUN npx --no-install tsc -p tsconfig.json \
 && touch dist/.build-stamp \
 && mkdir -p /out \
 && cp -a dist runner.sh package.json package-lock.json /out/ \
 && for dir in lib worker-prometheus scraper backend iss-sim; do \
      if [ -d "$dir" ]; then \
        find "$dir" -type f ! -name '*.ts' -exec cp --parents -t /out/ {} + ; \
      fi; \
    done

# Target for the compose `e2e` service: sources, tests and dev deps (selenium-webdriver, tsx).
FROM build AS dev
RUN mkdir -p test-results && chown node:node test-results
USER node
ENTRYPOINT ["./runner.sh"]
CMD ["e2e"]

FROM ${NODE_IMAGE} AS runtime
LABEL moex-monitoring.image="app"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /out/ ./
# The files stay owned by root: the service user can read and run them, not change them.
# The scraper's spool (SCRAPER_SPOOL_DIR) is the one place it writes; a volume mounted here keeps this owner.
RUN mkdir -p /var/lib/moex-scraper && chown node:node /var/lib/moex-scraper
USER node
EXPOSE 8000 8001 8998 8999
# Works for any service (lib/healthcheck.ts): PORT when set, else the contract's default port of
# the service found in the container's process list; https when WEB_CONFIG_FILE has a certificate.
# Node itself fetches: the slim image has neither curl nor wget.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/lib/healthcheck.js"]
# runner.sh execs node, so SIGTERM from `docker stop` reaches the service process.
ENTRYPOINT ["./runner.sh"]
CMD ["help"]
