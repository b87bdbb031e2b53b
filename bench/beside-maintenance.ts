/**
 * The history API as a script sees it while the server maintains itself: a reader asks for
 * `GET /api/v1/jobs?limit=50` every 5 ms over HTTP (bearer token) while, one after the other, a
 * retention cleanup (runs older than 30 days: about two thirds of the seed), a VACUUM, a backup, a
 * verify drill of that backup, and a restore of it (then the safety set of the replaced data and its
 * verify, which the restore leaves running) run through the API on the production build. Prints the reader's
 * p50/p99/max when idle and during each, beside each other. Works on a copy of the seeded data root
 * (the cleanup deletes), removed at the end.
 *
 * Beside each row, the server's CPU over the step (ms, from /proc): its event loop's thread ("loop")
 * and the whole process ("all"), which the load of a shared machine does not inflate as it does times.
 *
 *   npm run bench:beside-maintenance
 *   BENCH_ROWS=200000 npm run bench:beside-maintenance
 *   BENCH_STEPS=backup,verify BENCH_RUNS=3 BENCH_BASELINE=/path/to/checkout npm run bench:beside-maintenance
 *   BENCH_DATASET=full npm run bench:beside-maintenance
 *   BENCH_BACKEND=postgres npm run bench:beside-maintenance   # the same seed on PostgreSQL (migrated once; each server on a clone of it)
 *
 * The data root is the history seed (BENCH_ROWS runs, 15 jobs, 16 pipelines) unless BENCH_DATASET=full:
 * then bench/.data/root, the backup and restore benches' dataset (1M runs, 1,008 jobs, 508 pipeline
 * files, 200 MB of logs), where work that walks every job or pipeline file shows.
 *
 * BENCH_STEPS keeps only the steps whose first word is listed (verify and restore use the backup just
 * made, so they need backup; restore also names its safety set's row). BENCH_BASELINE also measures that checkout's build ("before") on its own copy of the
 * data root, before ours in each of BENCH_RUNS rounds, so both see the same hour of a shared machine.
 * On PostgreSQL, VACUUM is the deployment's VACUUM ANALYZE, and a backup, its drill and its restore dump, load and replace the database.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { performance } from "node:perf_hooks";
import { BENCH_BACKEND, BENCH_TOKEN, copyBenchRoot, prepareBenchRoot, type BenchRoot } from "./seeded-root";
import { ROOT, startOurs, type ServeMode } from "./servers";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const STEPS = process.env.BENCH_STEPS?.split(",").map((step) => step.trim());
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const BASELINE = process.env.BENCH_BASELINE;
const MODE = (process.env.BENCH_SERVE ?? "start") as ServeMode;
const READ_EVERY_MS = 5;
const IDLE_MS = 5000;
const RETENTION_DAYS = 30;
const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
/** BENCH_SLOW_READ_MS=25 prints each read slower than that with its time (UTC), to line up with the server's log (bench/slow-statements.mjs). */
const SLOW_READ_MS = Number(process.env.BENCH_SLOW_READ_MS ?? Infinity);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function loadAverage(): string {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux build that matters here. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (ms) of a thread or process so far: utime + stime from /proc (Linux), or NaN. */
function cpuMs(stat: string): number {
  try {
    const fields = fs.readFileSync(stat, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** The server's CPU so far: its main thread (the event loop) and the whole process. */
function serverCpu(pid: number | undefined): { loop: number; all: number } {
  return { loop: cpuMs(`/proc/${pid}/task/${pid}/stat`), all: cpuMs(`/proc/${pid}/stat`) };
}

/**
 * Reads the history every READ_EVERY_MS (or at once when a read took longer) until stopped, from a
 * process of its own (bench/http-reader.mjs); keeps each latency.
 */
function startReader(base: string) {
  const samples: number[] = [];
  let failures = 0;
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(import.meta.dirname, "http-reader.mjs"), `${base}/api/v1/jobs?limit=50`, String(READ_EVERY_MS)],
    {
      // Without the bench's NODE_OPTIONS (a diagnostic preload loads better-sqlite3): a script's plain Node.
      env: { ...process.env, NODE_OPTIONS: "", BENCH_READER_TOKEN: BENCH_TOKEN },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  readline.createInterface({ input: child.stdout! }).on("line", (text) => {
    const [startedAt, took, status] = text.split(" ").map(Number) as [number, number, number];
    samples.push(took);
    if (status !== 200) failures += 1;
    if (took > SLOW_READ_MS) process.stderr.write(`SLOWREAD ${new Date(startedAt).toISOString().slice(11, 23)} ${took.toFixed(1)}ms\n`);
  });
  return {
    take: () => samples.splice(0),
    failures: () => failures,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function call(base: string, method: string, route: string, body?: unknown): Promise<{ id: string }> {
  const response = await fetch(base + route, {
    method,
    headers: { ...auth, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status !== 202) throw new Error(`${method} ${route} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { id: string };
}

async function untilFinished(base: string, operationId: string): Promise<{ status: string; result?: Record<string, unknown> }> {
  for (;;) {
    const operation = (await (await fetch(`${base}/api/v1/operations/${operationId}`, { headers: auth })).json()) as {
      status: string;
      error: unknown;
      result?: Record<string, unknown>;
    };
    if (operation.status !== "running") {
      if (operation.status !== "succeeded") throw new Error(`operation ${operationId} ${operation.status}: ${JSON.stringify(operation.error)}`);
      return operation;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Until the restore's safety set is written and its verify has ended, then until nothing runs: the
 * operation that writes it starts a moment after the restore's has ended, so "nothing runs" alone
 * could be read in between.
 */
async function untilSafetySetVerified(base: string, safetyId: string): Promise<void> {
  for (;;) {
    const response = await fetch(`${base}/api/v1/backups/${safetyId}`, { headers: auth });
    const set = response.status === 200 ? ((await response.json()) as { verify_status: string | null }) : null;
    if (set && set.verify_status !== null && set.verify_status !== "running") return untilNoOperationRuns(base);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Until no operation is running or queued: what a finished operation started in the background has ended too. */
async function untilNoOperationRuns(base: string): Promise<void> {
  for (;;) {
    const list = (await (await fetch(`${base}/api/v1/operations?limit=20`, { headers: auth })).json()) as { items: { status: string }[] };
    if (!list.items.some((item) => item.status === "running" || item.status === "queued")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function line(label: string, samples: number[], ms: number, cpu: { loop: number; all: number }) {
  const fixed = (value: number, width = 8) => value.toFixed(1).padStart(width);
  console.log(
    `${label.padEnd(34)} ${String(samples.length).padStart(7)} ${fixed(ms / 1000)} ${fixed(percentile(samples, 50))} ${fixed(percentile(samples, 99))} ${fixed(
      Math.max(...samples),
    )} ${cpu.loop.toFixed(0).padStart(8)} ${cpu.all.toFixed(0).padStart(8)}`,
  );
}

/** One server (ours, or the baseline checkout's build) on its own copy of the seed, through every step. */
async function measure(seeded: BenchRoot, root: string, label: string) {
  const home = path.resolve(import.meta.dirname, ".data", `maintenance-${process.pid}`);
  console.log(`\ncopying the seeded data root to ${home}${BENCH_BACKEND === "postgres" ? " and cloning its database" : ""} …`);
  const copy = await copyBenchRoot(seeded, home, label);
  const server = await startOurs(MODE, copy.env, root, label).catch(async (error: unknown) => {
    await copy.drop();
    throw error;
  });
  const reader = startReader(server.base);
  const pid = server.process.pid;
  try {
    console.log(
      `${ROWS.toLocaleString()} runs on ${BENCH_BACKEND}; a reader every ${READ_EVERY_MS} ms over HTTP; ${server.name} (${root}); load before: ${loadAverage()}`,
    );
    console.log(
      `${"while".padEnd(34)} ${"reads".padStart(7)} ${"s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"loop cpu".padStart(8)} ${"all cpu".padStart(8)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    reader.take();
    let started = performance.now();
    let cpu = serverCpu(pid);
    const cpuSince = () => {
      const now = serverCpu(pid);
      const spent = { loop: now.loop - cpu.loop, all: now.all - cpu.all };
      cpu = now;
      return spent;
    };
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    line("idle", reader.take(), performance.now() - started, cpuSince());
    const operation = (started: Promise<{ id: string }>) => started.then((op) => untilFinished(server.base, op.id));
    const latestSet = async () =>
      ((await (await fetch(`${server.base}/api/v1/backups?limit=1`, { headers: auth })).json()) as { items: { id: string }[] }).items[0]!.id;
    let safetyId = "";
    const steps: [string, () => Promise<unknown>][] = [
      [
        `retention cleanup (${RETENTION_DAYS} days)`,
        () => operation(call(server.base, "POST", "/api/v1/retention/cleanup", { retention_days: RETENTION_DAYS })),
      ],
      ["VACUUM", () => operation(call(server.base, "POST", "/api/v1/maintenance/vacuum"))],
      ["backup", () => operation(call(server.base, "POST", "/api/v1/backups"))],
      ["verify drill (the backup just made)", async () => operation(call(server.base, "POST", `/api/v1/backups/${await latestSet()}/verify`))],
      // The swap itself holds reads (the database file is replaced under them): its own row. The safety
      // set of the replaced data and its verify follow in the background: the row after it.
      [
        "restore (that backup, click to done)",
        async () => {
          const id = await latestSet();
          safetyId = String((await operation(call(server.base, "POST", `/api/v1/backups/${id}/restore`, { confirm: id }))).result?.safety_backup_id);
        },
      ],
      ["restore's safety set and its verify", () => untilSafetySetVerified(server.base, safetyId)],
    ];
    const marks: string[] = [];
    for (const [label, begin] of steps) {
      const name = label.split(/[^A-Za-z]/)[0]!;
      if (STEPS && !STEPS.some((step) => name.toLowerCase() === step.toLowerCase())) continue;
      reader.take();
      started = performance.now();
      cpuSince();
      marks.push(`${name} ${new Date().toISOString().slice(11, 23)}`);
      await begin();
      line(label, reader.take(), performance.now() - started, cpuSince());
    }
    // When each step began (UTC), to line up with a server-side log (bench/slow-statements.mjs, a profile).
    console.log(`steps began: ${marks.join(", ")}`);
    console.log(`reader failures: ${reader.failures()}; load after: ${loadAverage()}`);
  } finally {
    await reader.stop();
    await server.stop();
    await copy.drop();
  }
}

async function main() {
  const seeded = await prepareBenchRoot(ROWS);
  for (let run = 1; run <= RUNS; run += 1) {
    if (RUNS > 1) console.log(`\n=== round ${run} of ${RUNS}`);
    if (BASELINE) await measure(seeded, BASELINE, "before");
    await measure(seeded, ROOT, "ours");
  }
}

await main();
