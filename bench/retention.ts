// npm run bench:retention -- [--rows 1000000] [--old 300000]
//
// Retention cleanup's effect on a concurrent reader. Seeds a data root with --rows executions, then
// deletes the oldest --old twice, each time from the same fresh copy, while a reader in the same
// process (the dashboard's "latest 50 executions", every 2 ms, on the app connection) measures how
// long each read waited and took: once with a single `DELETE … WHERE start_time < ?`, once with our
// cleanup (batches that yield between them). The server runs its cleanup in-process, so a blocked
// event loop is what the reader feels. Prints p50, p99 and max for both in one run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { closeAppDatabase, getDb, openDatabase, setAppDatabase } from "@/lib/db/client";
import { seedDemoData } from "@/lib/demo/seed";
import { runRetentionCleanup } from "@/lib/maintenance/retention";

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" }, old: { type: "string", default: "300000" } } });
const ROWS = Number(values.rows);
const OLD = Number(values.old);
const DAYS = 100;
const DAY_MS = 86_400_000;
/** The reader asks again this long after its last answer. */
const READ_INTERVAL_MS = 2;
/** Reader samples before each delete, for its quiet baseline. */
const BASELINE_MS = 1000;

const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-bench-retention-"));
const config = loadConfig({ MIMIR_HOME: home }, home);
setConfig(config);
const live = config.paths.database;
const pristine = path.join(home, "pristine.db");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function swapInCopy() {
  closeAppDatabase();
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(live + suffix, { force: true });
  fs.copyFileSync(pristine, live);
  setAppDatabase(openDatabase(live), live);
}

interface Sample {
  due: number;
  ms: number;
}

/** The dashboard's query in a loop; latency counts from when the read was due, so a blocked event loop shows. */
function startReader() {
  const read = getDb().$client.prepare(
    "SELECT id, job_id, pipeline, status, triggered_by, start_time, end_time, duration FROM job_executions ORDER BY start_time DESC LIMIT 50",
  );
  const samples: Sample[] = [];
  let stopped = false;
  let due = performance.now() + READ_INTERVAL_MS;
  let timer = setTimeout(function tick() {
    if (stopped) return;
    read.all();
    const end = performance.now();
    samples.push({ due, ms: end - due });
    due = end + READ_INTERVAL_MS;
    timer = setTimeout(tick, READ_INTERVAL_MS);
  }, READ_INTERVAL_MS);
  return {
    samples,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarise(samples: Sample[], from: number, to: number) {
  const during = samples
    .filter((s) => s.due <= to && s.due + s.ms >= from)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  const before = samples
    .filter((s) => s.due + s.ms < from)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  return { n: during.length, p50: percentile(during, 50), p99: percentile(during, 99), max: during.at(-1) ?? NaN, baselineP99: percentile(before, 99) };
}

async function measure(label: string, work: () => Promise<unknown> | unknown) {
  swapInCopy();
  const reader = startReader();
  await sleep(BASELINE_MS);
  const from = performance.now();
  const outcome = await work();
  const to = performance.now();
  await sleep(200);
  reader.stop();
  const db = getDb().$client;
  const remaining = db.prepare("SELECT count(*) FROM job_executions").pluck().get() as number;
  const leftOld = db.prepare("SELECT count(*) FROM job_executions WHERE start_time < ?").pluck().get(cutoff) as number;
  const walBytes = fs.existsSync(`${live}-wal`) ? fs.statSync(`${live}-wal`).size : 0;
  return {
    label,
    samplesAll: reader.samples,
    to,
    seconds: (to - from) / 1000,
    remaining,
    leftOld,
    walBytes,
    fileBytes: fs.statSync(live).size,
    ...summarise(reader.samples, from, to),
    outcome,
  };
}

console.log(`Seeding ${ROWS.toLocaleString("en-US")} executions over ${DAYS} days into ${home} …`);
await openDataRoot(config);
await seedDemoData(config, { executions: ROWS, days: DAYS, logFiles: 0, seed: 42 });
const db = getDb().$client;
// The cut-off that makes exactly OLD rows "old": the start_time of the (OLD+1)th oldest run.
const cutoff = db.prepare("SELECT start_time FROM job_executions ORDER BY start_time LIMIT 1 OFFSET ?").pluck().get(OLD) as string;
const oldRows = db.prepare("SELECT count(*) FROM job_executions WHERE start_time < ?").pluck().get(cutoff) as number;
if (oldRows !== OLD) throw new Error(`start_time values tie at the cut-off: ${oldRows} rows are older than ${cutoff}`);
db.pragma("wal_checkpoint(TRUNCATE)");
closeAppDatabase();
fs.copyFileSync(live, pristine);
console.log(`database ${(fs.statSync(pristine).size / 1048576).toFixed(0)} MB; cut-off ${cutoff}: ${OLD.toLocaleString("en-US")} older rows\n`);

const single = await measure("single DELETE … WHERE start_time < ?", () =>
  getDb().$client.prepare("DELETE FROM job_executions WHERE start_time < ?").run(cutoff),
);
const phases: { at: number; text: string }[] = [];
const ours = await measure("our cleanup (batched, yielding)", () =>
  runRetentionCleanup(
    { dry_run: false, retention_days: DAYS },
    { now: new Date(Date.parse(cutoff) + DAYS * DAY_MS), message: (text) => phases.push({ at: performance.now(), text }) },
  ),
);
const oursSamples = ours.samplesAll;
closeAppDatabase();
fs.rmSync(home, { recursive: true, force: true });

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
console.log("| delete | total | reads during | reader p50 | reader p99 | reader max | quiet p99 before | rows left | older rows left | WAL after |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of [single, ours]) {
  console.log(
    `| ${r.label} | ${r.seconds.toFixed(2)} s | ${r.n} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${fmt(r.baselineP99)} | ${r.remaining.toLocaleString("en-US")} | ${r.leftOld} | ${(r.walBytes / 1048576).toFixed(1)} MB |`,
  );
}
const report = ours.outcome as Awaited<ReturnType<typeof runRetentionCleanup>>;
console.log(
  `\nour cleanup report: deleted ${report.deleted_rows.toLocaleString("en-US")} rows; database ${(report.db_bytes_before / 1048576).toFixed(0)} MB → ${(report.db_bytes_after / 1048576).toFixed(0)} MB ` +
    `(reclaimed ${(report.reclaimed_bytes / 1048576).toFixed(0)} MB by ${report.space_returned_by}); single DELETE left the file at ${(single.fileBytes / 1048576).toFixed(0)} MB`,
);
console.log("\nour cleanup by phase (reader latency within each):");
phases.forEach((phase, i) => {
  const end = phases[i + 1]?.at ?? ours.to;
  const within = summarise(oursSamples, phase.at, end);
  console.log(`  ${phase.text}: ${((end - phase.at) / 1000).toFixed(2)} s, ${within.n} reads, p99 ${fmt(within.p99)}, max ${fmt(within.max)}`);
});
console.log(
  `load average during the run: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(", ")} on ${os.cpus().length} cores (the quiet p99 column is the same reader before each delete)`,
);
console.log(`goal during ours: p99 < 20 ms and max < 100 ms → ${ours.p99 < 20 && ours.max < 100 ? "met" : "NOT met"}`);
if (single.remaining !== ROWS - OLD || ours.remaining !== ROWS - OLD || single.leftOld !== 0 || ours.leftOld !== 0) {
  throw new Error("a delete did not remove exactly the rows older than the cut-off");
}
