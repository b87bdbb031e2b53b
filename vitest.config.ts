import { defineConfig } from "vitest/config";

/**
 * Test files that hold for either backend: they run twice, on SQLite (project `sqlite`) and on
 * PostgreSQL (project `postgres`, MIMIR_TEST_BACKEND=postgres: createTestDataRoot gives each data root
 * a database of its own cloned from a migrated template). Files that test one engine's mechanics
 * (WAL, VACUUM INTO, .recover, the sqlite3 dump, Mimir adoption) stay SQLite-only, and so do the
 * tests of remote stores and outbound connections, which barely reach the database (offsite.test.ts
 * is written for both, but its restore is the one backups/service.test.ts runs twice: kept to SQLite
 * for CI time). A neutral file's few tests about the SQLite file itself skip on PostgreSQL
 * (test.skipIf(testBackend() === "postgres")). PostgreSQL-only
 * files (lib/db/postgres*.test.ts, …) run in the `sqlite` project and make their own databases.
 */
export const DIALECT_NEUTRAL = [
  "lib/db/schema/parity.test.ts",
  "lib/jobs/**/*.test.ts",
  "lib/executions/**/*.test.ts",
  "lib/pipelines/**/*.test.ts",
  "lib/audit/**/*.test.ts",
  "lib/auth/**/*.test.ts",
  "lib/notify/**/*.test.ts",
  "lib/operations/**/*.test.ts",
  "lib/scheduler/**/*.test.ts",
  "lib/storage/history.test.ts",
  "lib/storage/alerts.test.ts",
  "lib/storage/disk-alert.test.ts",
  "lib/storage/sampler.test.ts",
  "lib/storage/usage.test.ts",
  "lib/overview/**/*.test.ts",
  "lib/offsite/copy-claim.test.ts",
  "lib/backups/page-operations.test.ts",
  "lib/backups/plugin.test.ts",
  "lib/backups/restore-security.test.ts",
  "lib/backups/scheduled-backups.test.ts",
  "lib/backups/service.test.ts",
  "lib/maintenance/reset.test.ts",
  "lib/maintenance/retention.test.ts",
  "lib/maintenance/session-purge.test.ts",
  "lib/maintenance/cluster-prune.test.ts",
  "lib/maintenance/troubleshooting.test.ts",
  "lib/metrics/metrics.test.ts",
  "lib/health/service.test.ts",
  "lib/config/edit.test.ts",
  "lib/secrets/sealed.test.ts",
  "lib/http.test.ts",
  "test/api/backups-schedule.test.ts",
  "test/api/bad-input.test.ts",
  "test/api/pipeline-access.test.ts",
];

/** In those folders but about one engine: a restore swaps the SQLite file; the Reset card counts through the SQLite engine. */
const SQLITE_ONLY_IN_NEUTRAL = ["lib/scheduler/restore-config.test.ts", "lib/overview/one-source.test.ts"];

export default defineConfig({
  resolve: {
    alias: {
      "@": import.meta.dirname,
      "server-only": `${import.meta.dirname}/test/stubs/server-only.ts`,
    },
  },
  test: {
    environment: "node",
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: "sqlite", include: ["lib/**/*.test.ts", "test/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "postgres",
          include: DIALECT_NEUTRAL,
          exclude: SQLITE_ONLY_IN_NEUTRAL,
          env: { MIMIR_TEST_BACKEND: "postgres" },
          globalSetup: ["test/helpers/pg-global-setup.ts"],
        },
      },
    ],
  },
});
