import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type AppConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import { closeAppDatabase, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { registerBuiltins } from "@/lib/builtins";
import { installPostgresAppDatabase } from "@/lib/db/postgres";
import { bindSchemaBackend } from "@/lib/db/schema/select";
import { inject } from "vitest";
import { cloneDatabaseSync, testBackend, type ScratchDatabase } from "@/test/helpers/postgres";

export interface TestDataRoot {
  home: string;
  config: AppConfig;
  /** closes the database and removes the folder */
  cleanup: () => void;
}

/**
 * A real, private data root in a temp folder with a migrated database installed as the process-wide
 * one, and the built-in plugins and jobs registered: what boot does, minus logging to a file and
 * starting the scheduler. `env` adds MIMIR_* overrides.
 *
 * The database is a SQLite file in the folder, or, when MIMIR_TEST_BACKEND=postgres (the `postgres`
 * vitest project), a PostgreSQL database of its own cloned from the run's migrated template and
 * dropped by cleanup.
 */
export function createTestDataRoot(env: Record<string, string> = {}): TestDataRoot {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-test-"));
  let scratch: ScratchDatabase | null = null;
  if (testBackend() === "postgres") {
    scratch = cloneDatabaseSync(inject("pgTemplate"));
    env = { MIMIR_PERSISTENCE_BACKEND: "postgres", MIMIR_CONNECTION_STRING: scratch.url, ...env };
  }
  const config = loadConfig({ MIMIR_HOME: home, ...env }, home);
  setConfig(config, { env: { MIMIR_HOME: home, ...env }, cwd: home });
  ensureDataRoot(config);
  if (scratch) {
    installPostgresAppDatabase(scratch.url, config.values.persistence.pool);
  } else {
    bindSchemaBackend("sqlite");
    const db = openDatabase(config.paths.database);
    migrateDatabase(db, config.paths.database);
    setAppDatabase(db, config.paths.database);
  }
  registerBuiltins();
  return {
    home,
    config,
    cleanup: () => {
      void closeAppDatabase();
      // WITH (FORCE) ends the pool's connections that are still closing
      void scratch?.drop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
