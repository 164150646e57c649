# syntax=docker/dockerfile:1
# Switchboard container image. Not built or run on the machine this was written on (no Docker
# daemon there); see docs/deployment.md#docker.
#
#   docker build -t switchboard .
#   docker run -d --name switchboard -p 3000:3000 -v switchboard-data:/data \
#     -e OPENAI_API_KEY=sk-... switchboard

# ---- build: install everything, compile the server and the web app, drop dev dependencies ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 and argon2 are native modules: they use a prebuilt binary when one matches,
# and compile with these tools when none does.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# npm ci runs the `prepare` script (scripts/build-if-stale.mjs --prepare); it skips the parts whose
# sources are not copied yet, so the dependency layer stays cached until the lock file changes.
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY web ./web
COPY templates ./templates
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: the built server, the built web app, production dependencies ----
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    CACHE_DIRECTORY=/home/node/.cache/switchboard
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/build ./web/build
COPY --from=build /app/templates ./templates
# The image's files stay owned by root; only /data (and V8's code cache in the `node` user's home, CACHE_DIRECTORY) is writable, by the unprivileged `node` user.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Migrations run at start. `docker run --rm -v switchboard-data:/data switchboard node dist/main.js migrate` runs them alone.
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "dist/main.js"]
