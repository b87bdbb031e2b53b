#!/usr/bin/env bash
# `npm test`: every layer, in the order that fails fastest. Needs only `npm ci` first.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

step() { printf '\n== %s\n' "$*"; }

step "test tools (chromium, sqlite3, gpg, promtool, apache2 mod_dav, rclone, openssl)"
bash scripts/ensure-test-tools.sh

step "route types"
node_modules/.bin/next typegen >/dev/null

step "type-check"
node_modules/.bin/tsc --noEmit

step "format (prettier --check; npm run format fixes it)"
node_modules/.bin/prettier --check --log-level warn "**/*.{ts,tsx,mjs,js,css}"

step "lint"
node_modules/.bin/eslint --max-warnings 0 .
node scripts/import-graph.mjs

step "migrations match the schema (SQLite and PostgreSQL)"
node_modules/.bin/drizzle-kit check
node_modules/.bin/drizzle-kit check --config drizzle.pg.config.ts
# generate prints "No schema changes" when the migrations already hold the schema; anything else is a missing migration
for config in drizzle.config.ts drizzle.pg.config.ts; do
  out=$(node_modules/.bin/drizzle-kit generate --config "$config" --name schema_drift 2>&1)
  if ! grep -q "No schema changes" <<<"$out"; then
    echo "$out" >&2
    echo "$config: lib/db/schema has changes no migration holds (drizzle-kit just wrote one named schema_drift: review it, or" >&2
    echo "delete it and run drizzle-kit generate --name <what>, then the same with --config drizzle.pg.config.ts)" >&2
    exit 1
  fi
done

step "production build"
node_modules/.bin/next build

step "unit, integration and server tests (vitest)"
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json

step "end-to-end (Playwright in Chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME=test-results/playwright.json node_modules/.bin/playwright test --reporter=list,json

node scripts/test-summary.mjs
