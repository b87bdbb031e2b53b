import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, expectBootFailure, startServer, type RunningServer } from "@/test/helpers/server";

const FIXTURES = path.join(import.meta.dirname, "fixtures");
/** next start exits 128 + 15 after SIGTERM, the shell's convention for a signalled stop. */
const SIGTERM_EXIT = 143;
const sqlite = (file: string, sql: string) => execFileSync("sqlite3", [file, sql], { encoding: "utf8" }).trim();

let home: string;
let server: RunningServer | null = null;
beforeAll(() => assertBuilt());
afterEach(async () => {
  await server?.stop();
  server = null;
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

function makeHome() {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-server-"));
  return home;
}

describe("the production server", () => {
  it("adopts a Mimir AIP database named by MIMIR_DATABASE_PATH, answers /health, and keeps every row across a restart", async () => {
    makeHome();
    const external = path.join(home, "existing", "mimir.db");
    fs.mkdirSync(path.dirname(external));
    execFileSync("sqlite3", [external], {
      input: fs.readFileSync(path.join(FIXTURES, "mimir-schema.sql"), "utf8") + fs.readFileSync(path.join(FIXTURES, "mimir-rows.sql"), "utf8"),
    });
    const token = `mimir_${"s".repeat(43)}`;
    const env = { MIMIR_HOME: path.join(home, "root"), MIMIR_DATABASE_PATH: external, MIMIR_API_TOKEN: token };

    server = await startServer(env);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    const body = await health.json();
    // Anyone gets the guide's shape; a database outside MIMIR_HOME by its file name alone.
    expect(body).toMatchObject({ status: "healthy", time: expect.any(String), persistence: { status: "healthy", backend: "sqlite", path: "mimir.db" } });
    const full = await (await fetch(`${server.url}/health`, { headers: { Authorization: `Bearer ${token}` } })).json();
    expect(full).toMatchObject({ status: "healthy", persistence: { status: "healthy", backend: "sqlite", path: external } });
    expect(Number.isNaN(Date.parse(body.time))).toBe(false);
    expect((await fetch(`${server.url}/health`, { method: "POST" })).status).toBe(405);
    expect(await server.stop()).toBe(SIGTERM_EXIT);

    server = await startServer(env);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await server.stop()).toBe(SIGTERM_EXIT);
    server = null;

    // The adopted rows, by the fixture's keys: boot also adds the built-in jobs and their pipelines.
    expect([
      sqlite(external, "SELECT count(*) FROM scheduled_jobs WHERE id IN ('job-nightly', 'job-weekly')"),
      sqlite(external, "SELECT count(*) FROM pipelines WHERE name IN ('nightly-sync', 'weekly-report')"),
      sqlite(external, "SELECT count(*) FROM job_executions"),
    ]).toEqual(["2", "2", "3"]);
    expect(sqlite(external, "PRAGMA integrity_check")).toBe("ok");
    expect(sqlite(external, "PRAGMA journal_mode")).toBe("wal");
    // .tables lays names out in columns, so their text order shifts as tables are added: compare as a set.
    expect(execFileSync("sqlite3", [external, ".tables"], { encoding: "utf8" }).split(/\s+/)).toEqual(
      expect.arrayContaining(["job_executions", "pipelines", "scheduled_jobs"]),
    );
    for (const volume of ["data", "logs", "config", "plugins", "pipelines", "backups"]) {
      expect(fs.statSync(path.join(home, "root", volume)).mode & 0o777).toBe(0o700);
    }
    // The server's own lock lives in the data volume: private like the rest, or Troubleshooting flags it.
    const lockFiles = fs.readdirSync(path.join(home, "root", "data")).filter((name) => name.startsWith(".mimir-server"));
    expect(lockFiles.length).toBeGreaterThan(0);
    for (const name of lockFiles) expect(fs.statSync(path.join(home, "root", "data", name)).mode & 0o777, name).toBe(0o600);
    const log = fs
      .readFileSync(path.join(home, "root", "logs", "mimir.log"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(log.some((line) => line.message === "adopted an existing Mimir AIP database")).toBe(true);
    expect(log.filter((line) => line.message === "booted")).toHaveLength(2);
  });

  it("refuses to boot on a bad config.yaml, exiting non-zero with the file, the key and what was expected", async () => {
    makeHome();
    fs.mkdirSync(path.join(home, "config"));
    fs.writeFileSync(path.join(home, "config", "config.yaml"), "persistence:\n  retention_days: thirty\n");
    const failure = await expectBootFailure({ MIMIR_HOME: home });
    expect(failure.code).not.toBe(0);
    expect(failure.output).toContain("config.yaml");
    expect(failure.output).toContain("persistence.retention_days");
    expect(failure.output).toContain('"thirty"');
  });

  it("refuses to boot when a volume folder cannot be written, naming it", async () => {
    makeHome();
    const notAFolder = path.join(home, "logs-file");
    fs.writeFileSync(notAFolder, "");
    const failure = await expectBootFailure({ MIMIR_HOME: home, MIMIR_LOGS_DIR: notAFolder });
    expect(failure.code).not.toBe(0);
    expect(failure.output).toContain(`${notAFolder} exists but is not a folder`);
  });

  it("refuses to boot on the postgres backend without a connection string, saying what to set", async () => {
    makeHome();
    const failure = await expectBootFailure({ MIMIR_HOME: home, MIMIR_PERSISTENCE_BACKEND: "postgres" });
    expect(failure.code).not.toBe(0);
    expect(failure.output).toContain("set MIMIR_CONNECTION_STRING (or persistence.connection_string)");
  });
});
