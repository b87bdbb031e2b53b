/**
 * /metrics as Prometheus sees it from a fresh process: our production server started on the bench
 * data root (1,000,000 runs), the first scrape the moment /health first answers (boot done; or
 * BENCH_FIRST_SCRAPE_AFTER_MS later), then one
 * scrape a second for BENCH_SCRAPE_SECONDS (past two 30 s reuse windows of the table scans).
 * The slowest scrapes are listed with the seconds since boot and the server's Server-Timing (each
 * read of the scrape and the whole), so that an outlier says whether it waited for a read or for
 * something else on the event loop (the client's time beyond `total`). Beside it, in the same minutes,
 * two peers answering a body of the same size after three trivial reads, scraped the same way: a bare
 * Next.js route (the framework's floor) and raw node:http (the machine's); the ratios say what ours
 * costs above them.
 *
 *   BENCH_PORTS=3500-3519 npm run bench:metrics
 *   BENCH_BACKEND=postgres npm run bench:metrics   # the same seed on PostgreSQL (migrated once)
 *   BENCH_BASELINE=/path/to/checkout BENCH_ROUNDS=2 npm run bench:metrics   # that checkout's build too, rounds interleaved
 *   BENCH_BACK_TO_BACK=400 npm run bench:metrics   # then 400 scrapes back to back: each server's CPU per scrape
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { BENCH_BACKEND, BENCH_TOKEN, benchEnvironment, prepareBenchRoot } from "./seeded-root";
import { startBareNext, startOurs, startRawNode, type Server, type ServeMode } from "./servers";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const MODE = (process.env.BENCH_SERVE ?? "start") as ServeMode;
const SCRAPE_FOR_MS = Number(process.env.BENCH_SCRAPE_SECONDS ?? 65) * 1000;
/** Wait this long after boot before the first scrape (Prometheus scrapes a new target within its interval, not at once). */
const FIRST_AFTER_MS = Number(process.env.BENCH_FIRST_SCRAPE_AFTER_MS ?? 0);
const BASELINE = process.env.BENCH_BASELINE;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SLOWEST = 5;
/** After the series, this many scrapes of each server sent back to back (0: none): its own CPU per scrape. */
const BACK_TO_BACK = Number(process.env.BENCH_BACK_TO_BACK ?? 0);

const loadAverage = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
/** CPU seconds a process and its live descendants have used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const stats = fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const fields = fs.readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]!.split(" ");
        return [{ pid: Number(name), parent: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / 100 }];
      } catch {
        return [];
      }
    });
  const family = new Set([pid]);
  for (let grown = true; grown;) {
    grown = false;
    for (const stat of stats) if (family.has(stat.parent) && !family.has(stat.pid)) grown = family.add(stat.pid) !== null;
  }
  return stats.filter((stat) => family.has(stat.pid)).reduce((sum, stat) => sum + stat.cpu, 0);
}

const root = await prepareBenchRoot(ROWS);
// On SQLite a data root admits one server (its lock): the baseline serves a copy of the seeded root, made
// afresh before each of its rounds so that both boot on the same state (the same missed fires to catch up,
// the same samples); on PostgreSQL both serve the same database (bench/http.ts does the same).
const baselineHome = BENCH_BACKEND === "postgres" ? root.home : `${root.home}-baseline`;
function copyRootForBaseline(): void {
  if (baselineHome === root.home) return;
  fs.rmSync(baselineHome, { recursive: true, force: true });
  fs.cpSync(root.home, baselineHome, { recursive: true });
}

interface Scrape {
  /** seconds since the server answered its first /health */
  at: number;
  utc: string;
  ms: number;
  timing: string;
}

/** Scrapes one server as Prometheus does (the bench's read token, gzip accepted), timed from request to last byte. */
function scraper(server: Server): () => Promise<Scrape> {
  const booted = performance.now();
  return async () => {
    const at = (performance.now() - booted) / 1000;
    const utc = new Date().toISOString().slice(11, 23);
    const started = performance.now();
    const response = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
    await response.text();
    if (response.status !== 200) throw new Error(`${server.name}: /metrics answered ${response.status}`);
    return { at, utc, ms: performance.now() - started, timing: response.headers.get("server-timing") ?? "" };
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const summary = (first: Scrape, list: Scrape[]) => {
  const ms = list.map((s) => s.ms);
  return { first: first.ms, p50: percentile(ms, 50), p95: percentile(ms, 95), max: Math.max(...ms) };
};

/**
 * One fresh server of ours beside two peers: a bare Next.js route and raw node:http, each answering
 * a body of the same size after three trivial reads (bench/peers). All three are scraped once a second,
 * a third of a second apart: on a virtual machine whose cores sleep when idle, a request after a quiet
 * spell costs several times one that follows another (a bare node:http "ok" from a client in the same
 * process: 2 ms back to back, 23-39 ms a second apart, on the 2-core machine of the sixth session), and
 * the peers measure that floor, and the framework's, in the same minutes.
 */
async function measure(label: string, start: () => Promise<Server>): Promise<void> {
  // The peers first, so that their boots are over before ours's; each first scrape the moment its /health answers.
  const peers: { name: string; server: Server; first: Scrape; scrapes: Scrape[] }[] = [];
  try {
    for (const [name, startPeer] of [
      ["peer: bare Next.js route", () => startBareNext(root.peerEnv)],
      ["peer: raw node:http", () => startRawNode(root.peerEnv)],
    ] as const) {
      const server = await startPeer();
      peers.push({ name, server, first: await scraper(server)(), scrapes: [] });
    }
    const server = await start();
    try {
      const scrape = scraper(server);
      await pause(FIRST_AFTER_MS);
      const first = await scrape();
      const scrapes: Scrape[] = [];
      const peerScrapers = peers.map((peer) => scraper(peer.server));
      const pid = server.process.pid!;
      const cpuBefore = cpuSeconds(pid);
      const until = performance.now() + SCRAPE_FOR_MS;
      const spacing = 1000 / (peers.length + 1);
      while (performance.now() < until) {
        for (const [i, peer] of peers.entries()) {
          await pause(spacing);
          peer.scrapes.push(await peerScrapers[i]!());
        }
        await pause(spacing);
        scrapes.push(await scrape());
      }
      const cpu = cpuSeconds(pid) - cpuBefore;
      const ours = summary(first, scrapes);
      const columns = ["first", "p50", "p95", "max"] as const;
      const row = (name: string, values: string[]) => `    ${name.padEnd(30)} ${values.map((v) => v.padStart(8)).join(" ")}`;
      console.log(
        `${label.padEnd(12)} ${ROWS.toLocaleString()} runs on ${BENCH_BACKEND}, ${server.name}: ${scrapes.length} scrapes over ${SCRAPE_FOR_MS / 1000} s after the first (${FIRST_AFTER_MS} ms after boot); server CPU ${cpu.toFixed(2)} s (${((cpu / scrapes.length) * 1000).toFixed(1)} ms per scrape, background included) (load ${loadAverage()})`,
      );
      console.log(row("ms", [...columns]));
      console.log(
        row(
          server.name,
          columns.map((key) => ours[key].toFixed(1)),
        ),
      );
      for (const peer of peers) {
        const floor = summary(peer.first, peer.scrapes);
        console.log(
          row(
            peer.name,
            columns.map((key) => floor[key].toFixed(1)),
          ),
        );
        console.log(
          row(
            "  ours / that peer",
            columns.map((key) => `${(ours[key] / floor[key]).toFixed(2)}×`),
          ),
        );
      }
      console.log(`    first scrape (at ${first.utc} UTC, to line up with the server's log): ${first.timing || "(no Server-Timing)"}`);
      for (const s of [...scrapes].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST))
        console.log(`    ${s.ms.toFixed(1).padStart(7)} ms at ${s.at.toFixed(1).padStart(5)} s after boot: ${s.timing || "(no Server-Timing)"}`);
      if (BACK_TO_BACK > 0) {
        console.log(`    back to back (${BACK_TO_BACK} scrapes after 50 unmeasured, one server at a time: caches and cores warm):`);
        for (const [name, target] of [[server.name, server], ...peers.map((peer) => [peer.name, peer.server] as const)] as const) {
          const { p50, p95, cpuMs } = await backToBack(target);
          console.log(`    ${name.padEnd(30)} p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms; server CPU ${cpuMs.toFixed(2)} ms per scrape`);
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    await Promise.all(peers.map((peer) => peer.server.stop()));
  }
}

/**
 * A server's own cost per scrape, apart from the machine's wake-ups: scrapes sent one after another,
 * its CPU time over them (/proc, background work included) and their latency.
 */
async function backToBack(server: Server): Promise<{ p50: number; p95: number; cpuMs: number }> {
  const scrape = scraper(server);
  for (let i = 0; i < 50; i += 1) await scrape();
  const pid = server.process.pid!;
  const cpuBefore = cpuSeconds(pid);
  const ms: number[] = [];
  for (let i = 0; i < BACK_TO_BACK; i += 1) ms.push((await scrape()).ms);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), cpuMs: ((cpuSeconds(pid) - cpuBefore) / BACK_TO_BACK) * 1000 };
}

/**
 * Prometheus's HTTP client is a long-running process's, warm; this one's is not until it has read a
 * gzip answer: the first scrape of the bench's first round also paid for this process's first gunzip
 * and first read of such a body (its first round's first scrape was the slowest of 8 to 10 in every
 * run). One such answer from a throwaway node:http server in this process warms it, before any of
 * ours is started. BENCH_COLD_CLIENT=1 leaves it cold.
 */
async function warmClient(): Promise<void> {
  const body = gzipSync(Buffer.from("# HELP warm_up a body like a scrape's\n".repeat(250)));
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Content-Encoding": "gzip", "Content-Length": body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
      await response.text();
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

if (process.env.BENCH_COLD_CLIENT !== "1") await warmClient();
for (let round = 1; round <= ROUNDS; round += 1) {
  if (BASELINE) copyRootForBaseline();
  if (BASELINE) await measure("before", () => startOurs(MODE, { ...root.env, ...benchEnvironment(baselineHome) }, BASELINE, "ours before"));
  await measure("ours", () => startOurs(MODE, root.env));
}
