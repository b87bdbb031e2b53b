/**
 * Page benchmark: the signed-in server render of every dashboard page (time to the last byte of the
 * HTML, and to the first), on the production build over 1,000,000 runs and a month of storage samples.
 * The peer is the same server's smallest signed-in page, /pipelines/new (a form: the layout, the
 * session check and React's render, no data), measured in the same run, so each page's ratio says what
 * its own data costs. Then /metrics is scraped once a second for BENCH_SCRAPE_SECONDS, beside raw
 * node:http's (three trivial reads, a body of the same size) as its peer.
 *
 *   npm run bench:pages
 *   BENCH_ROWS=200000 BENCH_RENDERS=20 npm run bench:pages
 *   BENCH_BACKEND=postgres npm run bench:pages   # the same seed on PostgreSQL (migrated once)
 *   BENCH_DATASET=full npm run bench:pages       # the restore benches' dataset: 1,008 jobs, 508 pipelines
 *   BENCH_BASELINE=/path/to/checkout npm run bench:pages   # that checkout's build beside ours, renders interleaved
 */
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { BENCH_BACKEND, BENCH_TOKEN, benchEnvironment, prepareBenchRoot } from "./seeded-root";
import { startOurs, startRawNode, type Server, type ServeMode } from "./servers";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RENDERS = Number(process.env.BENCH_RENDERS ?? 30);
const WARMUP = 3;
const MODE = (process.env.BENCH_SERVE ?? "start") as ServeMode;
const PEER = "/pipelines/new";
/** /metrics is scraped this often for this long: past two of its 30 s reuse windows, so the scrapes that start a refresh are in. */
const SCRAPE_EVERY_MS = 1000;
const SCRAPE_FOR_MS = Number(process.env.BENCH_SCRAPE_SECONDS ?? 65) * 1000;
const BASELINE = process.env.BENCH_BASELINE;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function loadAverage(): string {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

async function render(url: string, cookie: string): Promise<{ first: number; last: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie }, redirect: "manual" });
  const first = performance.now() - started;
  await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return { first, last: performance.now() - started };
}

async function main() {
  const { env, queryOne, cookie, peerEnv } = await prepareBenchRoot(ROWS);
  // Pages that show one thing: the busiest job, a pipeline, the newest run.
  const job = await queryOne<{ id: string }>("SELECT id FROM scheduled_jobs ORDER BY id LIMIT 1");
  const pipeline = await queryOne<{ name: string }>("SELECT name FROM pipelines ORDER BY name LIMIT 1");
  const execution = await queryOne<{ id: string }>("SELECT id FROM job_executions ORDER BY start_time DESC LIMIT 1");
  const pages = [
    "/",
    "/jobs",
    `/jobs/${encodeURIComponent(job.id)}`,
    "/pipelines",
    `/pipelines/${encodeURIComponent(pipeline.name)}`,
    PEER,
    "/executions",
    `/executions/${encodeURIComponent(execution.id)}`,
    "/storage",
    "/backups",
    "/backups/recovery",
    "/database",
    "/settings",
  ];
  // On SQLite a data root admits one server (its lock): the baseline serves a copy of the seeded root, made
  // afresh, so that both boot on the same state; on PostgreSQL both serve the same database (bench/http.ts does the same). Both run at once and
  // take turns render by render, so load from elsewhere on the machine lands on both alike.
  const root = env.MIMIR_HOME!;
  const baselineHome = BENCH_BACKEND === "postgres" ? root : `${root}-baseline`;
  if (BASELINE && baselineHome !== root) {
    fs.rmSync(baselineHome, { recursive: true, force: true });
    fs.cpSync(root, baselineHome, { recursive: true });
  }
  const servers: Server[] = [];
  try {
    if (BASELINE) servers.push(await startOurs(MODE, { ...env, ...benchEnvironment(baselineHome) }, BASELINE, "before"));
    servers.push(await startOurs(MODE, env));
    console.log(
      `\n${ROWS.toLocaleString()} runs on ${BENCH_BACKEND}; ${RENDERS} renders per page, one at a time, after ${WARMUP} warm-ups; ${servers.map((s) => s.name).join(" and ")}; load before: ${loadAverage()}`,
    );
    const results = new Map<string, { first: number; last: number }[]>(servers.flatMap((server) => pages.map((page) => [`${server.name} ${page}`, []])));
    for (const server of servers) for (const page of pages) for (let i = 0; i < WARMUP; i += 1) await render(server.base + page, cookie);
    // Round-robin, so a burst of load from elsewhere on the machine lands on every page alike.
    for (let i = 0; i < RENDERS; i += 1)
      for (const page of pages) for (const server of servers) results.get(`${server.name} ${page}`)!.push(await render(server.base + page, cookie));
    for (const server of servers) {
      const peer = percentile(
        results.get(`${server.name} ${PEER}`)!.map((r) => r.last),
        50,
      );
      console.log(
        `\n${server.name}\n${"page".padEnd(40)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"max".padStart(8)} ${"1st byte p50".padStart(13)} ${"× peer p50".padStart(11)}`,
      );
      for (const page of pages) {
        const list = results.get(`${server.name} ${page}`)!;
        const last = list.map((r) => r.last);
        const p50 = percentile(last, 50);
        console.log(
          `${page.slice(0, 40).padEnd(40)} ${p50.toFixed(1).padStart(8)} ${percentile(last, 95).toFixed(1).padStart(8)} ${Math.max(...last)
            .toFixed(1)
            .padStart(8)} ${percentile(
            list.map((r) => r.first),
            50,
          )
            .toFixed(1)
            .padStart(13)} ${(p50 / peer).toFixed(2).padStart(10)}×`,
        );
      }
    }
    // A Prometheus scrape with the bench's read token, each server in turn, and the peer (raw node:http:
    // three trivial reads, a body of the same size; bench/metrics-scrape.ts) among them, the scrapes
    // spread evenly over each second: on a machine whose cores sleep when idle, a request after a quiet
    // spell costs several times one that follows another, and the peer measures that floor alongside.
    const peer = await startRawNode(peerEnv);
    servers.push(peer);
    const scrapeStarted = performance.now();
    const slowest = servers.map((): { ms: number; at: number; timing: string }[] => []);
    const scrape = async (server: Server) => {
      const started = performance.now();
      const response = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
      await response.text();
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
      const ms = performance.now() - started;
      // The slowest, with the server's Server-Timing: whether it waited for a read or for something else.
      const list = slowest[servers.indexOf(server)]!;
      list.push({ ms, at: (started - scrapeStarted) / 1000, timing: response.headers.get("server-timing") ?? "" });
      list.sort((a, b) => b.ms - a.ms).splice(3);
      return ms;
    };
    const scrapes = servers.map((): number[] => []);
    const until = performance.now() + SCRAPE_FOR_MS;
    while (performance.now() < until) {
      for (const [i, server] of servers.entries()) {
        scrapes[i]!.push(await scrape(server));
        await new Promise((resolve) => setTimeout(resolve, SCRAPE_EVERY_MS / servers.length));
      }
    }
    console.log("");
    const figures = servers.map((_, i) => {
      const list = [...scrapes[i]!];
      const first = list.shift()!;
      return { first, p50: percentile(list, 50), p95: percentile(list, 95), max: Math.max(...list), count: list.length };
    });
    const floor = figures.at(-1)!;
    for (const [i, server] of servers.entries()) {
      const f = figures[i]!;
      const ratios =
        server === peer ? "" : `; × peer: p50 ${(f.p50 / floor.p50).toFixed(2)}, p95 ${(f.p95 / floor.p95).toFixed(2)}, max ${(f.max / floor.max).toFixed(2)}`;
      console.log(
        `/metrics ${server.name}: first scrape ${f.first.toFixed(1)} ms; then ${f.count} over ${SCRAPE_FOR_MS / 1000} s: p50 ${f.p50.toFixed(1)} ms, p95 ${f.p95.toFixed(1)} ms, max ${f.max.toFixed(1)} ms${ratios} (load ${loadAverage()})`,
      );
      for (const s of slowest[i]!)
        console.log(`    ${s.ms.toFixed(1).padStart(7)} ms at ${s.at.toFixed(1).padStart(5)} s into the series: ${s.timing || "(no Server-Timing)"}`);
    }
    console.log(`\nload after: ${loadAverage()}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

await main();
