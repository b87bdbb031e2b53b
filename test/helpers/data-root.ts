import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type AppConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import { closeAppDatabase, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { registerBuiltins } from "@/lib/builtins";

export interface TestDataRoot {
  home: string;
  config: AppConfig;
  /** closes the database and removes the folder */
  cleanup: () => void;
}

/**
 * A real, private data root in a temp folder with a migrated SQLite database installed as the
 * process-wide one, and the built-in plugins and jobs registered: what boot does, minus logging to
 * a file and starting the scheduler. `env` adds MIMIR_* overrides.
 */
export function createTestDataRoot(env: Record<string, string> = {}): TestDataRoot {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-test-"));
  const config = loadConfig({ MIMIR_HOME: home, ...env }, home);
  setConfig(config, { env: { MIMIR_HOME: home, ...env }, cwd: home });
  ensureDataRoot(config);
  const db = openDatabase(config.paths.database);
  migrateDatabase(db, config.paths.database);
  setAppDatabase(db, config.paths.database);
  registerBuiltins();
  return {
    home,
    config,
    cleanup: () => {
      closeAppDatabase();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
