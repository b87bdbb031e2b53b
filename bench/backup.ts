// Backup and restore against the stock tools, in one run, on a data root of ≥1 GB:
//   npm run bench:backup            (builds bench/.data/root once, ~2 min, then reuses it)
// Prints our backup time beside `tar czf` of the same five folders, our restore beside `tar xzf`,
// the ratios, and our peak RSS. Each of our operations runs in a child process of its own so its
// peak RSS (getrusage maxrss) is its own, not the data generator's.
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import { closeAppDatabase, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { createBackupSet } from "@/lib/backups/create-set";
import { replacedDataRemoved, restoreBackupSet } from "@/lib/backups/restore-set";
import { verifyBackupSet } from "@/lib/backups/verify";
import { VERIFICATION_FILE } from "@/lib/backups/store";
import { VOLUMES } from "@/lib/config/volumes";

const BENCH_DIR = path.resolve("bench/.data");
const ROOT = path.join(BENCH_DIR, "root");
const READY = path.join(ROOT, ".bench-ready");
const EXECUTIONS = 1_000_000;
const FOLDERS = ["data", "logs", "config", "plugins", "pipelines"];

function openRoot(home: string) {
  const config = loadConfig({ ...process.env, MIMIR_HOME: home }, home);
  setConfig(config);
  ensureDataRoot(config);
  const db = openDatabase(config.paths.database);
  migrateDatabase(db, config.paths.database);
  setAppDatabase(db, config.paths.database);
  return config;
}

/** Builds the data root like research/perf-baseline.md's dataset: 1M executions, 200 MB of logs, 100 MB of plugins. */
function buildDataRoot() {
  fs.rmSync(ROOT, { recursive: true, force: true });
  const config = openRoot(ROOT);
  closeAppDatabase();
  const db = new Database(config.paths.database);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const now = Date.now();
  const jobs = db.prepare("INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES (?, ?, ?, '0 * * * *', 1, ?, ?)");
  const pipelines = db.prepare("INSERT INTO pipelines (name, description, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
  const exec = db.prepare(
    "INSERT INTO job_executions (id, job_id, pipeline, start_time, end_time, duration, status, error, context, steps, triggered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduler')",
  );
  const iso = new Date(now).toISOString();
  const yaml = (i: number) =>
    `name: pipeline-${i}\ndescription: bench pipeline ${i}\nsteps:\n${'  - name: step\n    plugin: Input.http\n    config: {url: "https://example.invalid/feed"}\n'.repeat(20)}`;
  db.transaction(() => {
    for (let i = 0; i < 500; i += 1) pipelines.run(`pipeline-${i}`, `bench ${i}`, yaml(i), iso, iso);
    for (let i = 0; i < 1000; i += 1) jobs.run(`job-${i}`, `Job ${i}`, `pipeline-${i % 500}`, iso, iso);
  })();
  const steps = (i: number) => JSON.stringify([{ step_name: "fetch", plugin: "Input.http", status: "success", output: { rows: i, note: "x".repeat(380) } }]);
  const context = (i: number) => JSON.stringify({ run: i, source: "bench", payload: "y".repeat(400) });
  const batch = db.transaction((from: number) => {
    for (let i = from; i < from + 50_000; i += 1) {
      const start = new Date(now - (EXECUTIONS - i) * 7_000).toISOString();
      exec.run(
        `exec-${i}`,
        `job-${i % 1000}`,
        `pipeline-${i % 500}`,
        start,
        start,
        1200,
        i % 10 < 7 ? "success" : "failed",
        i % 10 < 7 ? null : "timeout",
        context(i),
        steps(i),
      );
    }
  });
  for (let from = 0; from < EXECUTIONS; from += 50_000) batch(from);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  // chromem.db stand-in: 50 MB of float vectors (incompressible-ish)
  fs.writeFileSync(path.join(config.paths.data, "chromem.bin"), crypto.randomBytes(50 * 1024 * 1024));
  for (let i = 0; i < 200; i += 1) {
    const line = `2025-01-15T02:00:00Z INFO execution exec-${i} step fetch ok rows=${i} source=https://example.invalid/feed\n`;
    fs.writeFileSync(path.join(config.paths.logs, `exec-${i}.log`), line.repeat(Math.ceil((1024 * 1024) / line.length)));
  }
  for (let i = 0; i < 20; i += 1) {
    const half = crypto.randomBytes(2.5 * 1024 * 1024);
    const code = Buffer.from("mov rax, rbx; call fn; ret\n".repeat(Math.ceil((2.5 * 1024 * 1024) / 27)));
    fs.writeFileSync(path.join(config.paths.plugins, `plugin-${i}`), Buffer.concat([half, code]), { mode: 0o755 });
  }
  for (let i = 0; i < 500; i += 1) fs.writeFileSync(path.join(config.paths.pipelines, `pipeline-${i}.yaml`), yaml(i));
  fs.writeFileSync(path.join(config.paths.config, "extra.yaml"), "persistence:\n  retention_days: 30\n");
  fs.writeFileSync(READY, "");
}

function time(command: string, args: string[]): number {
  const started = performance.now();
  execFileSync(command, args, { stdio: "ignore" });
  return (performance.now() - started) / 1000;
}

function duBytes(folder: string): number {
  return Number(execFileSync("du", ["-sb", folder], { encoding: "utf8" }).split("\t")[0]);
}

/** One of our operations in a child process: prints {seconds, max_rss_mb} on stdout. */
async function child(operation: string) {
  const config = openRoot(ROOT);
  const started = performance.now();
  // When each step began, from the operation's own progress messages: where the time goes.
  const phases: Record<string, number> = {};
  const message = (text: string) => {
    const step = text.replace(/ mimir_\w+.*$/, "");
    phases[step] ??= Math.round((performance.now() - started) / 100) / 10;
  };
  const detail = phases;
  if (operation === "baseline") {
    // the process with the code loaded and the database open, doing nothing: what ours adds sits on top of it
  } else if (operation === "backup") {
    await createBackupSet({ trigger: "cli", passphrase: config.secrets.backupPassphrase, message });
  } else {
    const [id] = fs
      .readdirSync(config.paths.backups)
      .filter((name) => /^\d{8}-\d{6}/.test(name))
      .sort()
      .reverse();
    if (operation === "verify") {
      await verifyBackupSet(id!, { message });
    } else {
      // "restore" is the usual case: the set passed its drill right after it was written (as every
      // new set does); "restore-unverified" runs the whole drill (integrity_check) inside the restore.
      if (operation === "restore-unverified") fs.rmSync(path.join(config.paths.backups, id!, VERIFICATION_FILE), { force: true });
      // The pre-restore safety backup is a backup like the one measured above; timed apart, not twice.
      await restoreBackupSet(id!, { volumes: VOLUMES, passphrase: config.secrets.backupPassphrase, safetyBackup: false, message });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await replacedDataRemoved();
  closeAppDatabase();
  console.log(JSON.stringify({ seconds, max_rss_mb: process.resourceUsage().maxRSS / 1024, detail }));
}

function runChild(operation: string): { seconds: number; max_rss_mb: number; detail: Record<string, number> } {
  // With the malloc setting `npm start`, `npm run mimir` and the image run with.
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2" };
  const result = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", "bench/backup.ts", "--child", operation], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env,
  });
  if (result.status !== 0) throw new Error(`${operation} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

async function main() {
  const childIndex = process.argv.indexOf("--child");
  if (childIndex > 0) return child(process.argv[childIndex + 1]!);

  if (!fs.existsSync(READY)) {
    console.log("building the data root (1,000,000 executions; once) …");
    const started = performance.now();
    buildDataRoot();
    console.log(`built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const config = loadConfig({ ...process.env, MIMIR_HOME: ROOT }, ROOT);
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
  const inputBytes = FOLDERS.reduce((sum, folder) => sum + duBytes(path.join(ROOT, folder)), 0);
  const rows = Number(execFileSync("sqlite3", [config.paths.database, "SELECT count(*) FROM job_executions"], { encoding: "utf8" }));
  console.log(`data root: ${(inputBytes / 1e9).toFixed(2)} GB in ${FOLDERS.join(", ")}; ${rows.toLocaleString("en-US")} executions`);

  const peer = path.join(BENCH_DIR, "peer");
  fs.rmSync(peer, { recursive: true, force: true });
  fs.mkdirSync(path.join(peer, "x"), { recursive: true });
  const tarball = path.join(peer, "all.tar.gz");

  const baseline = runChild("baseline");
  const ours = runChild("backup");
  const tarCzf = time("tar", ["czf", tarball, "-C", ROOT, ...FOLDERS]);
  const verify = runChild("verify");
  const restore = runChild("restore");
  const tarXzf = time("tar", ["xzf", tarball, "-C", path.join(peer, "x")]);
  const unverified = runChild("restore-unverified");

  const setBytes = Number(execFileSync("du", ["-sb", config.paths.backups], { encoding: "utf8" }).split("\t")[0]);
  const f = (n: number) => n.toFixed(1).padStart(6);
  console.log("");
  console.log(
    `backup   ours ${f(ours.seconds)} s   tar czf ${f(tarCzf)} s   ratio ${(ours.seconds / tarCzf).toFixed(2)}   (set ${(setBytes / 1e6).toFixed(0)} MB, tar.gz ${(fs.statSync(tarball).size / 1e6).toFixed(0)} MB)`,
  );
  console.log(
    `restore  ours ${f(restore.seconds)} s   tar xzf ${f(tarXzf)} s   ratio ${(restore.seconds / tarXzf).toFixed(2)}   (a verified set: sha256 + extract + quick_check, foreign keys, row counts + swap; the safety backup is a backup as above)`,
  );
  console.log(
    `         unverified set ${f(unverified.seconds)} s   ratio ${(unverified.seconds / tarXzf).toFixed(2)}   (the whole drill inside the restore: integrity_check instead of quick_check)`,
  );
  console.log(`verify   ours ${f(verify.seconds)} s   (the restore drill into a scratch folder, run after every backup; no stock-tool peer)`);
  console.log(
    `peak RSS ours: backup ${ours.max_rss_mb.toFixed(0)} MB, verify ${verify.max_rss_mb.toFixed(0)} MB, restore ${restore.max_rss_mb.toFixed(0)} MB, unverified restore ${unverified.max_rss_mb.toFixed(0)} MB (the same process doing nothing: ${baseline.max_rss_mb.toFixed(0)} MB)`,
  );
  console.log(
    `steps began at (s): backup ${JSON.stringify(ours.detail)}; restore ${JSON.stringify(restore.detail)}; unverified restore ${JSON.stringify(unverified.detail)}`,
  );
  fs.rmSync(peer, { recursive: true, force: true });
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
