// The offline CLI's `pull`: a set copied to a mounted-folder destination by a backup is listed and
// pulled back from there after the local copy is gone, then restored, all with the server stopped.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sqlite } from "@/test/helpers/backup-fixtures";

const CLI = ["--conditions=react-server", "--import", "tsx", "scripts/mimir.ts"];
let home: string;
let mount: string;

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [...CLI, ...args], {
    cwd: process.cwd(),
    env: { ...process.env, MIMIR_HOME: home },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-offsite-cli-"));
  mount = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-offsite-usb-"));
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(mount, { recursive: true, force: true });
});

test("backup copies to the destination; after the local set is lost, pull lists it, brings it back verified, and it restores", { timeout: 240_000 }, () => {
  // The first run creates the data root and its database.
  expect(cli(["list"]).status).toBe(0);
  const db = path.join(home, "data", "mimir.db");
  const now = new Date().toISOString();
  sqlite(
    db,
    `INSERT INTO offsite_destinations (id, name, kind, enabled, settings, secrets, pinned_identity, require_encrypted, keep_days, keep_min, created_at, updated_at)
     VALUES ('usb-1', 'usb', 'folder', 1, '${JSON.stringify({ path: mount })}', NULL, NULL, 0, NULL, 3, '${now}', '${now}');
     INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES ('job-cli', 'CLI job', 'p', '0 2 * * *', 1, '${now}', '${now}');`,
  );
  const backup = cli(["backup"]);
  expect(backup.status, backup.stderr).toBe(0);
  const id = (JSON.parse(backup.stdout.slice(0, backup.stdout.indexOf("\n}") + 2)) as { backup_id: string }).backup_id;
  expect(fs.existsSync(path.join(mount, id, "manifest.json"))).toBe(true);

  fs.rmSync(path.join(home, "backups", id), { recursive: true });
  sqlite(db, "DELETE FROM scheduled_jobs WHERE id = 'job-cli'");
  const listed = cli(["pull", "usb"]);
  expect(listed.status, listed.stderr).toBe(0);
  expect(listed.stdout).toMatch(new RegExp(`^${id} .* complete$`, "m"));

  const pulled = cli(["pull", "usb", id]);
  expect(pulled.status, pulled.stderr).toBe(0);
  expect(JSON.parse(pulled.stdout)).toMatchObject({ backup_id: id, verify_status: "ok" });
  const restored = cli(["restore", id, "--yes"]);
  expect(restored.status, restored.stderr).toBe(0);
  expect(sqlite(db, "SELECT id FROM scheduled_jobs WHERE id = 'job-cli'")).toBe("job-cli");
});
