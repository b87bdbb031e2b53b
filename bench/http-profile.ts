/**
 * Where a request's CPU time goes: serves one path under the load of bench/http.ts (32 connections,
 * autocannon) from our server and from the bare Next.js peer, each under `node --cpu-prof`, and prints
 * each main thread's profile as µs per request (bench/cpu-profile.mjs): self time by function and the
 * inclusive time of the functions that match BENCH_MATCH.
 *
 *   BENCH_PATH=/api/v1/jobs?limit=50 BENCH_SECONDS=15 npm run bench:http-profile
 *   BENCH_PATH=/health BENCH_SERVERS=ours npm run bench:http-profile
 *   BENCH_BASELINE=/path/to/checkout BENCH_SERVERS=before,ours npm run bench:http-profile   # also that checkout's build
 *
 * Profiling slows everything about alike; compare the parts, not the rates, with bench/http.ts.
 */
import autocannon from "autocannon";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { BENCH_TOKEN, benchEnvironment, prepareBenchRoot } from "./seeded-root";
import { SERVER_NODE_FLAGS } from "@/scripts/server-flags.mjs";
import { ROOT, startBareNext, startOurs, type Server } from "./servers";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PATH = process.env.BENCH_PATH ?? "/api/v1/jobs?limit=50";
const SERVERS = (process.env.BENCH_SERVERS ?? "ours,bare").split(",");
const MATCH = process.env.BENCH_MATCH ?? "";
const TOP = process.env.BENCH_TOP ?? "45";
/** Another checkout with a build of its own ("ours before", as in bench/http.ts), profiled when SERVERS names "before". */
const BASELINE = process.env.BENCH_BASELINE;

/** CLOCK_MONOTONIC in µs: the clock of V8's profile timestamps. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** User + system CPU time of a process (all its threads), from /proc/PID/stat, in µs. */
function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / CLOCK_TICKS) * 1e6;
}
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

async function profile(name: string, startServer: (env: Record<string, string>) => Promise<Server>, pathname: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `http-profile-${name}-`));
  process.env.BENCH_NODE_FLAGS = [...SERVER_NODE_FLAGS, "--cpu-prof", `--cpu-prof-dir=${dir}`].join(" ");
  const server = await startServer({});
  delete process.env.BENCH_NODE_FLAGS;
  const headers = { authorization: `Bearer ${BENCH_TOKEN}` };
  let requests = 0;
  const window = { from: 0, to: 0, cpu: 0 };
  try {
    await autocannon({ url: server.base + pathname, connections: 32, duration: 3, headers });
    // Only the samples of the measured window count (boot and warm-up left out), scaled to the CPU
    // time the process really had in it.
    const pid = server.process.pid!;
    window.from = monotonicMicros();
    const cpuBefore = cpuMicros(pid);
    const result = await autocannon({ url: server.base + pathname, connections: 32, duration: SECONDS, headers });
    window.cpu = cpuMicros(pid) - cpuBefore;
    window.to = monotonicMicros();
    requests = result.requests.total;
    console.log(
      `\n=== ${server.name} ${pathname}: ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, ${result.non2xx + result.errors} errors`,
    );
  } finally {
    await server.stop();
  }
  const files = fs.readdirSync(dir).filter((file) => file.endsWith(".cpuprofile"));
  // The main thread's profile is the largest (workers of lib/db/off-thread.ts write their own).
  const main = files.map((file) => path.join(dir, file)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
  if (!main) throw new Error(`no profile written in ${dir}`);
  const args = [path.join(ROOT, "bench/cpu-profile.mjs"), main, String(requests), "--top", TOP, ...(MATCH ? ["--match", MATCH] : [])];
  args.push("--from", String(window.from), "--to", String(window.to), "--cpu", String(window.cpu));
  spawnSync(process.execPath, args, { stdio: "inherit" });
  console.log(`(again: node ${args.map((arg) => (/[\s|'()^]/.test(arg) ? `'${arg}'` : arg)).join(" ")})`);
}

const root = await prepareBenchRoot(ROWS);
const peerPath = PATH.startsWith("/api/") ? "/api/rows" : PATH;
if (SERVERS.includes("before")) {
  if (!BASELINE) throw new Error("BENCH_SERVERS=before needs BENCH_BASELINE=/path/to/checkout");
  // A data root admits one server: the baseline serves the copy bench/http.ts makes.
  const baselineHome = `${root.home}-baseline`;
  if (!fs.existsSync(baselineHome)) fs.cpSync(root.home, baselineHome, { recursive: true });
  await profile("before", (env) => startOurs("start", { ...root.env, ...benchEnvironment(baselineHome), ...env }, BASELINE, "ours before"), PATH);
}
if (SERVERS.includes("ours")) await profile("ours", (env) => startOurs("start", { ...root.env, ...env }), PATH);
if (SERVERS.includes("bare")) await profile("bare", (env) => startBareNext(root.peerEnv, env), peerPath);
