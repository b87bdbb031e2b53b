// kill -9 during a restore on PostgreSQL, through the real offline CLI in a child process: the
// database is replaced in one transaction and the volumes by renames under a file-side journal, so a
// kill between the two (the transaction committed, the journal still on disk) is the moment that
// could leave them disagreeing. The restore writes a token into system_metadata inside its
// transaction; the next start reads it and finishes the files forward, or rolls them back without it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { treeHashes } from "@/test/helpers/backup-fixtures";
import { createScratchDatabase, psqlSync, type ScratchDatabase } from "@/test/helpers/postgres";

const CLI = ["--conditions=react-server", "--import", "tsx", "scripts/mimir.ts"];
/** Each CLI run starts node + tsx (~2 s on a busy 2-core box, far more under load); this test makes about a dozen. */
const CHILD_RUNS_TIMEOUT_MS = 600_000;
let home: string;
let database: ScratchDatabase;

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [...CLI, ...args], {
    cwd: process.cwd(),
    env: { ...process.env, MIMIR_HOME: home, MIMIR_PERSISTENCE_BACKEND: "postgres", MIMIR_CONNECTION_STRING: database.url, ...env },
    encoding: "utf8",
    timeout: 180_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

const sql = (statement: string) => psqlSync(statement, database.url).trim();

/** What a person sees: the jobs in the database, the pipeline files, and no restore mark left behind. */
function liveState() {
  return {
    jobs: sql("SELECT string_agg(id, ',' ORDER BY id) FROM scheduled_jobs"),
    pipelines: treeHashes(path.join(home, "pipelines")),
    mark: sql("SELECT count(*) FROM system_metadata WHERE key = 'restore_commit'"),
  };
}

/** Files, folders and schemas a restore works in: none may outlive it (its load's schema, the replaced tables' schema). */
function leftovers(): string[] {
  const found = fs.readdirSync(path.join(home, "backups")).filter((name) => name.startsWith(".restore"));
  const schemas = sql("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname LIKE 'mimir\\_%'");
  if (schemas) found.push(...schemas.split(","));
  for (const volume of ["data", "pipelines", "logs", "config", "plugins"]) {
    const folder = path.join(home, volume);
    if (fs.existsSync(folder)) found.push(...fs.readdirSync(folder).filter((name) => name.startsWith(".mimir-restore")));
  }
  return found;
}

/** The live state moves away from the set: a job deleted, a pipeline file changed, one added. */
function changeAfterTheSet() {
  sql("DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
  fs.writeFileSync(path.join(home, "pipelines", "nightly-sync.yaml"), "name: nightly-sync\ndescription: changed\nsteps: []\n");
  fs.writeFileSync(path.join(home, "pipelines", "added.yaml"), "name: added\n");
}

beforeAll(async () => {
  database = await createScratchDatabase({ label: "restore_crash" });
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-pg-restore-crash-"));
  const first = cli(["list"]);
  expect(first.status, first.stderr).toBe(0);
  const now = new Date().toISOString();
  sql(
    `INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES
       ('job-nightly', 'Nightly', 'nightly-sync', '0 2 * * *', true, '${now}', '${now}'),
       ('job-weekly', 'Weekly', 'nightly-sync', '0 6 * * 1', false, '${now}', '${now}')`,
  );
  fs.writeFileSync(path.join(home, "pipelines", "nightly-sync.yaml"), "name: nightly-sync\nsteps: []\n");
}, CHILD_RUNS_TIMEOUT_MS);

afterAll(async () => {
  await database?.drop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe("kill -9 during a restore on PostgreSQL", () => {
  test(
    "before the database commit the next start rolls the files back; after it, the next start finishes them forward: never half",
    () => {
      const backup = cli(["backup"]);
      expect(backup.status, backup.stderr).toBe(0);
      const setId = JSON.parse(backup.stdout).backup_id as string;
      const set = { jobs: "job-nightly,job-weekly", pipelines: treeHashes(path.join(home, "pipelines")), mark: "0" };

      changeAfterTheSet();
      const before = liveState();
      expect(before.jobs).toBe("job-nightly");

      // While the set's dump loads beside the live tables, and once it has: nothing live has changed.
      // The loaded schema stays until the next restore drops it (the last one below, which leaves nothing).
      for (const point of ["restore.extracted:mimir_data", "restore.after_extract"]) {
        const run = cli(["restore", setId, "--yes"], { MIMIR_CRASH_POINT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
        const next = cli(["list"]);
        expect(next.status, next.stderr).toBe(0);
        expect(liveState(), point).toEqual(before);
      }

      // Volumes swapped, database not yet swapped: wholly old.
      for (const point of ["restore.after_swap:mimir_data", "restore.after_swap:mimir_pipelines"]) {
        const run = cli(["restore", setId, "--yes"], { MIMIR_CRASH_POINT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
        const next = cli(["list"]);
        expect(next.status, next.stderr).toBe(0);
        expect(liveState(), point).toEqual(before);
        expect(leftovers(), point).toEqual([]);
      }

      // The database transaction committed, the journal still on disk: wholly new, once the next start finishes the files.
      for (const point of ["restore.after_database_commit", "restore.after_commit"]) {
        const run = cli(["restore", setId, "--yes"], { MIMIR_CRASH_POINT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
        const next = cli(["list"]);
        expect(next.status, next.stderr).toBe(0);
        expect(liveState(), point).toEqual(set);
        expect(leftovers(), point).toEqual([]);
        changeAfterTheSet();
        expect(liveState(), point).toEqual(before);
      }

      const ok = cli(["restore", setId, "--yes"]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(liveState()).toEqual(set);
      expect(leftovers()).toEqual([]);
    },
    CHILD_RUNS_TIMEOUT_MS,
  );
});
