# syntax=docker/dockerfile:1
# Mimir AIP persistence console: multi-stage build of the Next.js standalone server.

FROM node:20-bookworm-slim AS deps
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# .npmrc: our own addon (native/malloc-trim, a file: dependency) is copied into node_modules and built there by
# npm ci, beside better-sqlite3: malloc_trim for the server (lib/freed-memory.ts).
COPY package.json package-lock.json .npmrc ./
COPY native ./native
# better-sqlite3 compiles from source; node-gyp must use the image's Node headers, not download them.
ENV npm_config_nodedir=/usr/local
RUN npm ci

FROM node:20-bookworm-slim AS build
WORKDIR /src
ENV NEXT_TELEMETRY_DISABLED=1 \
    MIMIR_STANDALONE_BUILD=1
COPY --from=deps /src/node_modules ./node_modules
COPY . .
RUN node_modules/.bin/next build

FROM node:20-bookworm-slim AS runtime
# sqlite3: the guide's `docker exec … sqlite3 /app/data/mimir.db` recipes keep working; postgresql-client
# (psql) does the same for a PostgreSQL deployment: loading a backup's dump with `psql -f` (docs/recovery.md).
# The PostgreSQL driver itself (pg, pg-copy-streams) is plain JavaScript: nothing native to build for it.
# openssh-client: SFTP offsite copies upload through the system `ssh` (its C crypto is twice as fast as
# ssh2's on the client's CPU); the login signs through an agent inside the server, holding the key for the login only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends sqlite3 postgresql-client openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid nonroot --home-dir /app --no-create-home --shell /usr/sbin/nologin nonroot
WORKDIR /app
# MALLOC_ARENA_MAX: glibc gives every thread (zlib's pool, the SQLite workers) its own malloc arena;
# two are plenty and keep a backup's or restore's peak memory ~10 MB lower at no measurable cost.
ENV MALLOC_ARENA_MAX=2 \
    NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    PORT=8080 \
    HOSTNAME=0.0.0.0 \
    MIMIR_HOME=/app \
    MIMIR_DATABASE_PATH=/app/data/mimir.db \
    MIMIR_VECTOR_DB_PATH=/app/data/chromem.db
COPY --from=build --chown=root:root /src/.next/standalone ./
COPY --from=build --chown=root:root /src/.next/static ./.next/static
COPY --from=build --chown=root:root /src/public ./public
COPY --from=build --chown=root:root /src/drizzle ./drizzle
# The recovery page renders this file at request time; the standalone trace does not carry it.
COPY --from=build --chown=root:root /src/docs/recovery.md ./docs/recovery.md
# The volumes and the backups folder belong to the service user, private (0700), as the guide asks.
RUN mkdir -p /app/data /app/logs /app/config /app/plugins /app/pipelines /app/backups \
 && chown nonroot:nonroot /app/data /app/logs /app/config /app/plugins /app/pipelines /app/backups \
 && chmod 0700 /app/data /app/logs /app/config /app/plugins /app/pipelines /app/backups
VOLUME ["/app/data", "/app/logs", "/app/config", "/app/plugins", "/app/pipelines"]
USER nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The server's Node flags, as in scripts/server-flags.mjs (which says why): a smaller young generation and gc()
# for the backup's gzip threads.
CMD ["node", "--max-semi-space-size=4", "--expose-gc", "server.js"]
