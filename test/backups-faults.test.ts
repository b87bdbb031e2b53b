// Fault tests (T1, T2, T5, T6 of research/reliability-security.md) against the real offline CLI in a
// child process: SIGKILL at named crash points during backup and restore, and full disks under
// `unshare -m` with a small tmpfs. After each fault: no set that looks complete unless it is, live
// data exactly as before, and the next run succeeds.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sqlite, treeHashes } from "@/test/helpers/backup-fixtures";
import { acquireProcessLock, releaseProcessLock } from "@/lib/db/process-lock";

const CLI = ["--conditions=react-server", "--import", "tsx", "scripts/mimir.ts"];
/** Each CLI run starts node + tsx (~2 s on a busy 2-core box); these tests make up to a dozen. */
const CHILD_RUNS_TIMEOUT_MS = 180_000;
let home: string;

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [...CLI, ...args], {
    cwd: process.cwd(),
    env: { ...process.env, MIMIR_HOME: home, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

const volumes = ["data", "logs", "config", "plugins", "pipelines"];

function liveState() {
  const db = path.join(home, "data", "mimir.db");
  return {
    files: Object.fromEntries(volumes.map((v) => [v, treeHashes(path.join(home, v))])),
    jobs: sqlite(db, "SELECT group_concat(id) FROM (SELECT id FROM scheduled_jobs ORDER BY id)"),
    executions: sqlite(db, "SELECT count(*) FROM job_executions"),
    integrity: sqlite(db, "PRAGMA integrity_check"),
  };
}

/** What a set holds, opened with stock tar and sqlite3: its jobs and its pipeline files. */
function setState(id: string) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-set-state-"));
  try {
    for (const volume of ["data", "pipelines"]) {
      fs.mkdirSync(path.join(out, volume));
      execFileSync("tar", ["xzf", path.join(home, "backups", id, `mimir_${volume}.tar.gz`), "-C", path.join(out, volume)]);
    }
    return {
      jobs: sqlite(path.join(out, "data", "mimir.db"), "SELECT group_concat(id) FROM (SELECT id FROM scheduled_jobs ORDER BY id)"),
      pipelines: treeHashes(path.join(out, "pipelines")),
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** What the app keeps, without the bytes of SQLite files (a set holds consistent snapshots of them). */
function appState(state = liveState()) {
  return { jobs: state.jobs, executions: state.executions, integrity: state.integrity, pipelines: state.files.pipelines, plugins: state.files.plugins };
}

function completeSets(): string[] {
  return fs
    .readdirSync(path.join(home, "backups"))
    .filter((name) => /^\d{8}-\d{6}(-\d+)?$/.test(name) && fs.existsSync(path.join(home, "backups", name, "manifest.json")));
}

/** A complete set to restore from; tests stay independent of each other's order. */
function ensureSet(): string {
  const [existing] = completeSets().sort();
  if (existing) return existing;
  const run = cli(["backup"]);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout).backup_id;
}

function leftovers(): string[] {
  const found = fs.readdirSync(path.join(home, "backups")).filter((name) => name.startsWith("."));
  for (const v of volumes)
    found.push(
      ...fs
        .readdirSync(path.join(home, v))
        .filter((name) => name.startsWith(".mimir-restore"))
        .map((name) => `${v}/${name}`),
    );
  return found;
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-faults-"));
  for (const v of volumes) fs.mkdirSync(path.join(home, v), { recursive: true });
  const schema = fs.readFileSync("test/fixtures/mimir-schema.sql", "utf8");
  const rows = fs.readFileSync("test/fixtures/mimir-rows.sql", "utf8");
  execFileSync("sqlite3", [path.join(home, "data", "mimir.db")], { input: `${schema}\n${rows}` });
  fs.writeFileSync(path.join(home, "pipelines", "nightly-sync.yaml"), "name: nightly-sync\nsteps: []\n");
  fs.writeFileSync(path.join(home, "logs", "exec-1.log"), "ok\n".repeat(10_000));
  // Incompressible, so the plugins archive alone outgrows the 1 MiB disks below.
  fs.writeFileSync(path.join(home, "plugins", "Input.http"), crypto.randomBytes(3 * 1024 * 1024));
  // The first start adopts the Mimir database (and keeps a pre-adoption copy): done before any "before" state.
  const adopt = cli(["list"]);
  expect(adopt.status, adopt.stderr).toBe(0);
});

afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe("kill -9 during backup", () => {
  test(
    "no crash point leaves a set that looks complete; the next backup cleans up and succeeds",
    () => {
      const before = liveState();
      for (const point of ["backup.after_snapshot", "backup.after_archive:mimir_logs", "backup.before_rename"]) {
        const run = cli(["backup"], { MIMIR_CRASH_POINT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
        expect(completeSets(), point).toEqual([]);
        expect(liveState(), point).toEqual(before);
      }
      expect(leftovers().some((name) => name.startsWith(".partial-"))).toBe(true);

      const ok = cli(["backup"]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ verify_status: "ok" });
      expect(completeSets()).toHaveLength(1);
      expect(leftovers()).toEqual([]);

      const killedAfterRename = cli(["backup"], { MIMIR_CRASH_POINT: "backup.after_rename" });
      expect(killedAfterRename.signal).toBe("SIGKILL");
      // Renamed means complete: that set is whole and verifies.
      const sets = completeSets().sort();
      expect(sets).toHaveLength(2);
      const verify = cli(["verify", sets[1]!]);
      expect(verify.status, verify.stderr).toBe(0);
    },
    CHILD_RUNS_TIMEOUT_MS,
  );
});

describe("kill -9 at a random moment of a backup", () => {
  test(
    "whatever the moment, live data is untouched, every set that looks complete verifies, and the next backup succeeds",
    async () => {
      const before = liveState();
      const verified = new Set(completeSets());
      // Spread over the CLI's start (~1.5 s under tsx), the snapshot, the archives and the rename.
      for (const base of [1_200, 1_800, 2_400, 3_000]) {
        const delay = base + Math.floor(Math.random() * 600);
        const child = spawn(process.execPath, [...CLI, "backup"], { cwd: process.cwd(), env: { ...process.env, MIMIR_HOME: home }, stdio: "ignore" });
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
        const timer = setTimeout(() => child.kill("SIGKILL"), delay);
        await exited;
        clearTimeout(timer);
        expect(liveState(), `killed after ${delay} ms`).toEqual(before);
        for (const set of completeSets().filter((id) => !verified.has(id))) {
          const verify = cli(["verify", set]);
          expect(verify.status, `set ${set} left by a kill after ${delay} ms: ${verify.stderr}`).toBe(0);
          verified.add(set);
        }
      }
      const ok = cli(["backup"]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(leftovers()).toEqual([]);
    },
    CHILD_RUNS_TIMEOUT_MS,
  );
});

describe("kill -9 during restore", () => {
  test(
    "every crash point rolls back to the state before the restore at the next start; a clean run restores the set exactly",
    () => {
      const setId = ensureSet();
      const setPipelines = treeHashes(path.join(home, "pipelines"));
      // Change the live state after the set was taken: a job gone, a pipeline changed, a file added.
      sqlite(path.join(home, "data", "mimir.db"), "DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
      fs.writeFileSync(path.join(home, "pipelines", "nightly-sync.yaml"), "name: nightly-sync\ndescription: changed\nsteps: []\n");
      fs.writeFileSync(path.join(home, "pipelines", "added.yaml"), "name: added\n");
      const before = liveState();

      for (const point of ["restore.before_swap", "restore.after_swap:mimir_data", "restore.after_swap:mimir_pipelines", "restore.after_reopen"]) {
        const run = cli(["restore", setId, "--yes"], { MIMIR_CRASH_POINT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
        const next = cli(["list"]);
        expect(next.status, next.stderr).toBe(0);
        expect(liveState(), point).toEqual(before);
        expect(leftovers(), point).toEqual([]);
        expect(fs.existsSync(path.join(home, "data", "mimir.db-wal")) && fs.statSync(path.join(home, "data", "mimir.db-wal")).size > 0, point).toBe(false);
      }

      // Killed once the swap is committed but before the safety set is written: the restored state
      // stands, the replaced data waits aside as it was, and the next start writes it into the safety set.
      const committed = cli(["restore", setId, "--yes"], { MIMIR_CRASH_POINT: "restore.after_commit" });
      expect(committed.signal, committed.stderr).toBe("SIGKILL");
      expect(fs.existsSync(path.join(home, "pipelines", ".mimir-restore-previous", "added.yaml"))).toBe(true);
      const setsBefore = completeSets();
      const next = cli(["list"]);
      expect(next.status, next.stderr).toBe(0);
      expect(liveState().jobs).toBe("job-nightly,job-weekly");
      expect(liveState().files.pipelines).toEqual(setPipelines);
      expect(leftovers()).toEqual([]);
      const [safetySet] = completeSets().filter((id) => !setsBefore.includes(id));
      expect(safetySet).toBeDefined();
      expect(setState(safetySet!)).toEqual({ jobs: before.jobs, pipelines: before.files.pipelines });
      const verify = cli(["verify", safetySet!]);
      expect(verify.status, verify.stderr).toBe(0);
      // Back to the state the tests change from, through the safety set itself (SQLite files of the
      // volume, like the pre-adoption copy, come back as the set's consistent snapshots of them).
      expect(cli(["restore", safetySet!, "--yes"]).status).toBe(0);
      expect(appState()).toEqual(appState(before));

      const ok = cli(["restore", setId, "--yes"]);
      expect(ok.status, ok.stderr).toBe(0);
      const after = liveState();
      expect(after.jobs).toBe("job-nightly,job-weekly");
      expect(after.files.pipelines).toEqual(setPipelines);
      expect(after.integrity).toBe("ok");
      const result = JSON.parse(ok.stdout.slice(ok.stdout.indexOf("{")));
      expect(completeSets()).toContain(result.safety_backup_id);
    },
    CHILD_RUNS_TIMEOUT_MS * 2,
  );

  test(
    "killed while its safety set is written, or right after, the restore stands and the next start finishes the set: nothing is lost",
    () => {
      const setId = ensureSet();
      const set = setState(setId);
      // A live state that differs from the set, for the safety set to hold.
      fs.writeFileSync(path.join(home, "pipelines", "only-live.yaml"), "name: only-live\n");
      for (const point of ["backup.after_archive:mimir_logs", "restore.after_safety_set"]) {
        sqlite(path.join(home, "data", "mimir.db"), "DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
        const before = liveState();
        const setsBefore = completeSets();
        const run = cli(["restore", setId, "--yes"], { MIMIR_CRASH_POINT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe("SIGKILL");
        // The restored state is live already; the replaced one waits aside.
        expect(liveState().jobs, point).toBe(set.jobs);
        const live = liveState().files.pipelines ?? {};
        expect(Object.keys(live).filter((name) => !name.startsWith(".mimir-restore-previous/")).length, point).toBe(Object.keys(set.pipelines).length);
        for (const [name, hash] of Object.entries(set.pipelines)) expect(live[name], `${point}: ${name}`).toBe(hash);
        const next = cli(["list"]);
        expect(next.status, `${point}: ${next.stderr}`).toBe(0);
        expect(leftovers(), point).toEqual([]);
        const added = completeSets().filter((id) => !setsBefore.includes(id));
        expect(added, point).toHaveLength(1);
        expect(setState(added[0]!), point).toEqual({ jobs: before.jobs, pipelines: before.files.pipelines });
        expect(cli(["verify", added[0]!]).status, point).toBe(0);
        // The next round starts from the state with only-live.yaml again.
        expect(cli(["restore", added[0]!, "--yes"]).status, point).toBe(0);
        expect(appState(), point).toEqual(appState(before));
      }
    },
    CHILD_RUNS_TIMEOUT_MS * 2,
  );

  test(
    "the CLI refuses to restore under a running server, and not under a lock a killed server left",
    async () => {
      const setId = "20250101-000000";
      const lock = path.join(home, "data", ".mimir-server.lock");
      // This process stands in for the server: it holds the lock as boot does.
      expect(acquireProcessLock(lock)).toBe(true);
      fs.writeFileSync(path.join(home, "data", ".mimir-server.pid"), `${process.pid} server\n`);
      try {
        const run = cli(["restore", setId, "--yes"]);
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(new RegExp(`server \\(pid ${process.pid}\\) is running`));
      } finally {
        releaseProcessLock(lock);
      }

      // A server killed with -9 leaves its files behind (and its pid may be reused, pid 1 in a container): no longer running.
      const holder = spawn(
        process.execPath,
        [
          "-e",
          `const D = require("better-sqlite3"); const db = new D(${JSON.stringify(lock)}); db.pragma("locking_mode = EXCLUSIVE"); db.exec("DELETE FROM holder"); console.log("held"); setInterval(() => {}, 1000);`,
        ],
        {
          cwd: process.cwd(),
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
      expect(cli(["restore", setId, "--yes"]).stderr).toMatch(/is running/);
      holder.kill("SIGKILL");
      await new Promise((resolve) => holder.once("exit", resolve));
      fs.writeFileSync(path.join(home, "data", ".mimir-server.pid"), "1 server\n");
      const afterKill = cli(["restore", setId, "--yes"]);
      expect(afterKill.stderr).not.toMatch(/is running/);
      expect(afterKill.stderr).toMatch(/Backup .*not found|not_found|No backup/i);

      // The pid file an older version kept under the lock's name is no lock at all.
      fs.writeFileSync(lock, "1\n");
      expect(cli(["restore", setId, "--yes"]).stderr).not.toMatch(/is running/);
      expect(acquireProcessLock(lock)).toBe(true);
      releaseProcessLock(lock);
    },
    CHILD_RUNS_TIMEOUT_MS,
  );
});

describe("full disk", () => {
  const shell = (script: string) =>
    spawnSync("unshare", ["-m", "sh", "-c", script], { cwd: process.cwd(), env: { ...process.env, MIMIR_HOME: home }, encoding: "utf8", timeout: 120_000 });
  const node = `${process.execPath} ${CLI.join(" ")}`;

  test("a backup onto a full disk fails with a clear error, leaves nothing behind and changes no live data", () => {
    const before = liveState();
    const setsBefore = completeSets();
    const backups = path.join(home, "backups");
    const run = shell(`mount -t tmpfs -o size=1m tmpfs "${backups}" && ${node} backup; echo "rc=$?"; echo "left:$(ls -A "${backups}")"`);
    expect(run.stdout).toContain("rc=1");
    expect(run.stdout).toMatch(/left:\s*$/m);
    expect(run.stderr).toMatch(/No space left on the backup disk/);
    expect(liveState()).toEqual(before);
    expect(completeSets()).toEqual(setsBefore);
  });

  test("a restore whose staging does not fit stops before anything is replaced", () => {
    const setId = ensureSet();
    const before = liveState();
    const plugins = path.join(home, "plugins");
    const run = shell(
      `mount -t tmpfs -o size=1m tmpfs "${plugins}" && echo small > "${plugins}/small" && ${node} restore ${setId} --yes; echo "rc=$?"; echo "plugins:$(ls -A "${plugins}")"`,
    );
    expect(run.stdout).toContain("rc=1");
    expect(run.stdout).toContain("plugins:small");
    expect(run.stderr).toMatch(/insufficient_disk: mimir_plugins\.tar\.gz needs \d+ bytes/);
    expect(liveState()).toEqual(before);
    expect(leftovers()).toEqual([]);
  });
});
