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

step "migrations match the schema"
node_modules/.bin/drizzle-kit check

step "production build"
node_modules/.bin/next build

step "unit, integration and server tests (vitest)"
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json

step "end-to-end (Playwright in Chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME=test-results/playwright.json node_modules/.bin/playwright test --reporter=list,json

node scripts/test-summary.mjs
