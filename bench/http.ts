/**
 * HTTP benchmark: our history list (`GET /api/v1/jobs?limit=50`, bearer token) and `/health`, each
 * against a bare Next.js route handler serving the same rows from the same file, and raw node:http +
 * better-sqlite3, all in the same run, 32 connections (autocannon), runs interleaved server by server.
 * Prints req/s and p99 with the ratio ours / bare Next.js.
 *
 *   npm run bench:http                         # 1,000,000 runs (seeded once under bench/.data)
 *   BENCH_SERVE=start,standalone npm run bench:http   # also our standalone server (needs MIMIR_STANDALONE_BUILD=1 next build)
 *   BENCH_ROWS=200000 BENCH_RUNS=3 BENCH_SECONDS=10 npm run bench:http
 *   BENCH_BACKEND=postgres npm run bench:http  # the same seed on PostgreSQL (migrated once); the peers use node-postgres
 *   BENCH_BASELINE=/path/to/checkout npm run bench:http   # also that checkout's build ("ours before"), same peers, same run
 *   BENCH_TARGETS=health npm run bench:http    # only the routes whose label contains one of these words (history, health)
 *
 * Client and servers share the machine's cores: the ratio, not the absolute figure, is the result.
 */
import autocannon from "autocannon";
import { BENCH_BACKEND, BENCH_TOKEN, benchEnvironment, prepareBenchRoot } from "./seeded-root";
import { startBareNext, startOurs, startRawNode, type ServeMode, type Server } from "./servers";
import fs from "node:fs";
import { spawnSync } from "node:child_process";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;
const WARMUP_SECONDS = 3;
const MODES = (process.env.BENCH_SERVE ?? "start").split(",") as ServeMode[];
/** Another checkout with a build of its own (the code before a change): measured in a round of its own beside the same peers. */
const BASELINE = process.env.BENCH_BASELINE;

interface Target {
  label: string;
  /** the path on our server, and on the peers */
  ours: string;
  peer: string;
}

const TARGETS: Target[] = [
  { label: "history list (GET /api/v1/jobs?limit=50)", ours: "/api/v1/jobs?limit=50", peer: "/api/rows" },
  { label: "/health", ours: "/health", peer: "/health" },
].filter((target) => !process.env.BENCH_TARGETS || process.env.BENCH_TARGETS.split(",").some((word) => target.label.includes(word)));

interface Figure {
  rps: number;
  p99: number;
  p50: number;
  errors: number;
  /** the server process's CPU time (all threads) per request answered: on a loaded machine it moves less than req/s */
  cpuPerRequest: number;
}

async function load(server: Server, url: string, seconds: number, headers: Record<string, string>): Promise<Figure> {
  const cpuBefore = cpuMicros(server.process.pid!);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  const cpuPerRequest = (cpuMicros(server.process.pid!) - cpuBefore) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, errors: result.errors + result.non2xx, cpuPerRequest };
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** User + system CPU time of a process (all its threads), from /proc/PID/stat, in µs. */
function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
}

/** A process's resident memory now and its peak so far (VmRSS, VmHWM), in MB. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function loadAverage(): string {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

async function measure(servers: Server[]) {
  const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
  const idle = new Map(servers.map((server) => [server.name, memoryMb(server.process.pid!).rss]));
  console.log(
    `\n${ROWS.toLocaleString()} runs on ${BENCH_BACKEND}; ${CONNECTIONS} connections, ${RUNS} × ${SECONDS} s per server and route, interleaved; load before: ${loadAverage()}`,
  );
  for (const target of TARGETS) {
    const figures = new Map<string, Figure[]>(servers.map((server) => [server.name, []]));
    const pathOf = (server: Server) => (server.name.startsWith("ours") ? target.ours : target.peer);
    for (const server of servers) await load(server, server.base + pathOf(server), WARMUP_SECONDS, auth);
    for (let run = 0; run < RUNS; run += 1) {
      for (const server of servers) figures.get(server.name)!.push(await load(server, server.base + pathOf(server), SECONDS, auth));
    }
    const bare = median(figures.get("bare Next.js route")!.map((f) => f.rps));
    const bareCpu = median(figures.get("bare Next.js route")!.map((f) => f.cpuPerRequest));
    console.log(`\n${target.label}`);
    console.log(
      `${"server".padEnd(26)} ${"req/s median [min–max]".padStart(26)} ${"p99 ms".padStart(14)} ${"p50".padStart(5)} ${"× bare".padStart(7)} ${"CPU µs/req".padStart(11)} ${"× bare".padStart(7)} errors`,
    );
    for (const [name, list] of figures) {
      const rps = list.map((f) => f.rps);
      const p99 = list.map((f) => f.p99);
      console.log(
        `${name.padEnd(26)} ${`${median(rps).toFixed(0)} [${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)}]`.padStart(26)} ${`${median(p99)} [${Math.min(...p99)}–${Math.max(...p99)}]`.padStart(14)} ${String(median(list.map((f) => f.p50))).padStart(5)} ${(median(rps) / bare).toFixed(2).padStart(6)}× ${median(
          list.map((f) => f.cpuPerRequest),
        )
          .toFixed(0)
          .padStart(11)} ${(median(list.map((f) => f.cpuPerRequest)) / bareCpu).toFixed(2).padStart(6)}× ${list.reduce((sum, f) => sum + f.errors, 0)}`,
      );
    }
  }
  // What a serving mode costs besides speed: the wait for a restarted server, and its memory.
  console.log(`\n${"server".padEnd(26)} ${"ready in s".padStart(10)} ${"RSS idle MB".padStart(12)} ${"peak MB".padStart(8)}`);
  for (const server of servers) {
    const { peak } = memoryMb(server.process.pid!);
    console.log(
      `${server.name.padEnd(26)} ${(server.readyMs / 1000).toFixed(1).padStart(10)} ${idle.get(server.name)!.toFixed(0).padStart(12)} ${peak.toFixed(0).padStart(8)}`,
    );
  }
  console.log(`\nload after: ${loadAverage()}`);
}

async function main() {
  const root = await prepareBenchRoot(ROWS);
  const peers: Server[] = [];
  try {
    peers.push(await startBareNext(root.peerEnv));
    peers.push(await startRawNode(root.peerEnv));
    // On SQLite a data root admits one server (its lock): the baseline serves a copy of the seeded root,
    // made once. On PostgreSQL both serve the same database and the same folders, as two instances of one
    // deployment do (a copied root would carry another data-root marker than the one the database records).
    const baselineHome = BENCH_BACKEND === "postgres" ? root.home : `${root.home}-baseline`;
    if (BASELINE && !fs.existsSync(baselineHome)) fs.cpSync(root.home, baselineHome, { recursive: true });
    // One server of ours at a time per serving mode, each mode measured in its own round beside the
    // same peers (and the baseline's build in the same mode, interleaved with it).
    for (const mode of MODES) {
      const ours = [await startOurs(mode, root.env)];
      try {
        if (BASELINE) ours.unshift(await startOurs(mode, { ...root.env, ...benchEnvironment(baselineHome) }, BASELINE, "ours before"));
        await measure([...ours, ...peers]);
      } finally {
        await Promise.all(ours.map((server) => server.stop()));
      }
    }
  } finally {
    await Promise.all(peers.map((server) => server.stop()));
  }
}

await main();
