// The data root the backup and restore benches share, like research/perf-baseline.md's dataset:
// 1M executions, 200 MB of logs, 100 MB of plugins, 500 pipelines. Built once under bench/.data/root.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import { closeAppDatabase, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";

export const BENCH_DIR = path.resolve("bench/.data");
export const ROOT = path.join(BENCH_DIR, "root");
const READY = path.join(ROOT, ".bench-ready");
const EXECUTIONS = 1_000_000;
export const FOLDERS = ["data", "logs", "config", "plugins", "pipelines"];

export function openRoot(home: string) {
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

/** Builds the data root unless a complete one is there. */
export function ensureBenchDataRoot(): void {
  if (fs.existsSync(READY)) return;
  console.log("building the data root (1,000,000 executions; once) …");
  const started = performance.now();
  buildDataRoot();
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
