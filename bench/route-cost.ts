/**
 * What our route code costs per request beyond a bare route handler, in process, without Next.js or
 * HTTP around it: the history list's and /health's handlers (route(): authentication, query parsing,
 * the listing, its Response, HTTP metrics, request log) called directly with a Request, beside the
 * bare peer's handler (one raw better-sqlite3 statement and Response.json), and the parts of ours
 * one by one. Prints CPU µs per call (process.cpuUsage, so a core shared with other work counts
 * less than wall time would), median of interleaved rounds.
 *
 *   npm run bench:route-cost                          # on bench/.data/history-seed-1000000 (bench:http's seed)
 *   BENCH_ROUNDS=9 BENCH_CALLS=2000 npm run bench:route-cost
 *
 * bench/http.ts measures the same over HTTP, where Next.js's own share and the machine's load come on top.
 */
import Database from "better-sqlite3";
import { BENCH_TOKEN, benchEnvironment, prepareSeededRoot } from "./seeded-root";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { closeAppDatabase } from "@/lib/db/client";
import { authenticate } from "@/lib/auth/request";
import { listExecutionsQuery } from "@/lib/executions/inputs";
import { listExecutions } from "@/lib/executions/service";
import { recordHttpRequest } from "@/lib/metrics/http";
import { getHealthFor } from "@/lib/health/service";
import { GET as historyRoute } from "@/app/api/v1/jobs/route";
import { GET as healthRoute } from "@/app/health/route";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const HISTORY_SQL =
  "SELECT id, job_id, pipeline, start_time, end_time, duration, status, error, triggered_by FROM job_executions ORDER BY start_time DESC, id DESC LIMIT ?";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** CPU µs per call of `fn` over CALLS calls, awaited one after another as one connection's requests are. */
async function cpuPerCall(fn: () => Promise<unknown> | unknown): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < CALLS; i += 1) await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / CALLS;
}

async function main() {
  const { home, database } = await prepareSeededRoot(ROWS);
  const config = loadConfig(benchEnvironment(home), home);
  setConfig(config);
  await openDataRoot(config);
  const raw = new Database(database, { readonly: true });
  const historyPage = raw.prepare(HISTORY_SQL);
  const probe = raw.prepare("SELECT 1 AS ok");
  const headers = { authorization: `Bearer ${BENCH_TOKEN}` };
  const noParams = { params: Promise.resolve({}) };
  const request = (pathAndQuery: string, withToken = true) => new Request(`http://127.0.0.1${pathAndQuery}`, { headers: withToken ? headers : {} });

  const cases: [string, () => Promise<unknown> | unknown][] = [
    ["history: our route (whole)", async () => (await historyRoute(request("/api/v1/jobs?limit=50"), noParams)).text()],
    ["history: bare handler", () => Response.json(historyPage.all(50)).text()],
    ["  part: authenticate (bearer)", () => authenticate({ authorization: headers.authorization, sessionToken: null })],
    ["  part: query parse (zod)", () => listExecutionsQuery.parse({ limit: "50" })],
    ["  part: listExecutions (SQL + mapping)", () => listExecutions({ limit: 50 })],
    ["  part: raw statement alone", () => historyPage.all(51)],
    ["  part: recordHttpRequest", () => recordHttpRequest("GET", "/api/v1/jobs", 200, 3)],
    ["  part: Request + URL (the caller's share)", () => new URL(request("/api/v1/jobs?limit=50").url)],
    ["/health: our route, anonymous", async () => (await healthRoute(request("/health", false), noParams)).text()],
    ["/health: our route, with token", async () => (await healthRoute(request("/health"), noParams)).text()],
    ["/health: bare handler", () => (probe.get(), Response.json({ status: "ok" }).text())],
    ["  part: getHealthFor(null)", () => getHealthFor(null)],
  ];
  const figures = new Map<string, number[]>(cases.map(([label]) => [label, []]));
  for (const [, fn] of cases) await cpuPerCall(fn);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [label, fn] of cases) figures.get(label)!.push(await cpuPerCall(fn));
  }
  const load = (await import("node:fs")).readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`\nCPU µs per call, median of ${ROUNDS} rounds × ${CALLS} calls, interleaved; ${ROWS.toLocaleString()} runs; load ${load}`);
  for (const [label, list] of figures) {
    console.log(`${label.padEnd(44)} ${median(list).toFixed(1).padStart(8)} [${Math.min(...list).toFixed(0)}–${Math.max(...list).toFixed(0)}]`);
  }
  raw.close();
  await closeAppDatabase();
}

await main();
