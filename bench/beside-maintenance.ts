/**
 * The history API as a script sees it while the server maintains itself: a reader asks for
 * `GET /api/v1/jobs?limit=50` every 5 ms over HTTP (bearer token) while, one after the other, a
 * retention cleanup (runs older than 30 days: about two thirds of the seed), a VACUUM, a backup and a
 * verify drill of that backup run through the API on the production build. Prints the reader's
 * p50/p99/max when idle and during each, beside each other. Works on a copy of the seeded data root
 * (the cleanup deletes), removed at the end.
 *
 *   npm run bench:beside-maintenance
 *   BENCH_ROWS=200000 npm run bench:beside-maintenance
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { BENCH_TOKEN, benchEnvironment, prepareSeededRoot } from "./seeded-root";
import { startOurs, type ServeMode } from "./servers";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const MODE = (process.env.BENCH_SERVE ?? "start") as ServeMode;
const READ_EVERY_MS = 5;
const IDLE_MS = 5000;
const RETENTION_DAYS = 30;
const auth = { authorization: `Bearer ${BENCH_TOKEN}` };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function loadAverage(): string {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

/** Reads the history every READ_EVERY_MS (or at once when a read took longer) until stopped; keeps each latency. */
function startReader(base: string) {
  const samples: number[] = [];
  let running = true;
  let failures = 0;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      const response = await fetch(`${base}/api/v1/jobs?limit=50`, { headers: auth });
      await response.arrayBuffer();
      if (response.status !== 200) failures += 1;
      const took = performance.now() - started;
      samples.push(took);
      if (took < READ_EVERY_MS) await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS - took));
    }
  })();
  return {
    take: () => samples.splice(0),
    failures: () => failures,
    stop: async () => {
      running = false;
      await done;
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

async function untilFinished(base: string, operationId: string): Promise<string> {
  for (;;) {
    const operation = (await (await fetch(`${base}/api/v1/operations/${operationId}`, { headers: auth })).json()) as { status: string; error: unknown };
    if (operation.status !== "running") {
      if (operation.status !== "succeeded") throw new Error(`operation ${operationId} ${operation.status}: ${JSON.stringify(operation.error)}`);
      return operation.status;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function line(label: string, samples: number[], ms: number) {
  const text = `${label.padEnd(34)} ${String(samples.length).padStart(7)} ${(ms / 1000).toFixed(1).padStart(8)} ${percentile(samples, 50).toFixed(1).padStart(8)} ${percentile(
    samples,
    99,
  )
    .toFixed(1)
    .padStart(8)} ${Math.max(...samples)
    .toFixed(1)
    .padStart(8)}`;
  console.log(text);
}

async function main() {
  const seeded = await prepareSeededRoot(ROWS);
  const home = path.resolve(import.meta.dirname, ".data", `maintenance-${process.pid}`);
  console.log(`copying the seeded data root to ${home} …`);
  fs.cpSync(seeded.home, home, { recursive: true });
  const server = await startOurs(MODE, benchEnvironment(home));
  const reader = startReader(server.base);
  try {
    console.log(`\n${ROWS.toLocaleString()} runs; a reader every ${READ_EVERY_MS} ms over HTTP; ${server.name}; load before: ${loadAverage()}`);
    console.log(`${"while".padEnd(34)} ${"reads".padStart(7)} ${"s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    reader.take();
    let started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    line("idle", reader.take(), performance.now() - started);
    const steps: [string, () => Promise<{ id: string }>][] = [
      [`retention cleanup (${RETENTION_DAYS} days)`, () => call(server.base, "POST", "/api/v1/retention/cleanup", { retention_days: RETENTION_DAYS })],
      ["VACUUM", () => call(server.base, "POST", "/api/v1/maintenance/vacuum")],
      ["backup", () => call(server.base, "POST", "/api/v1/backups")],
      [
        "verify drill (the backup just made)",
        async () => {
          const list = (await (await fetch(`${server.base}/api/v1/backups?limit=1`, { headers: auth })).json()) as { items: { id: string }[] };
          return call(server.base, "POST", `/api/v1/backups/${list.items[0]!.id}/verify`);
        },
      ],
    ];
    const marks: string[] = [];
    for (const [label, begin] of steps) {
      reader.take();
      started = performance.now();
      marks.push(`${label.split(" ")[0]} ${new Date().toISOString().slice(11, 23)}`);
      const operation = await begin();
      await untilFinished(server.base, operation.id);
      line(label, reader.take(), performance.now() - started);
    }
    // When each step began (UTC), to line up with a server-side log (bench/slow-statements.mjs, a profile).
    console.log(`\nsteps began: ${marks.join(", ")}`);
    console.log(`reader failures: ${reader.failures()}; load after: ${loadAverage()}`);
  } finally {
    await reader.stop();
    await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await main();
