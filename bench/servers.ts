/**
 * Starting and stopping the servers the HTTP benches measure: ours (`next start`, or the standalone
 * server of a MIMIR_STANDALONE_BUILD=1 build), the bare Next.js peer and the raw node:http peer, each
 * its own process on a loopback port.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { SERVER_NODE_FLAGS } from "@/scripts/server-flags.mjs";

export const ROOT = path.resolve(import.meta.dirname, "..");
const NEXT = path.join(ROOT, "node_modules/.bin/next");
/**
 * Node flags for the server processes, the peers' too (the same runtime on both sides): the
 * server's own unless BENCH_NODE_FLAGS says otherwise (bench/http-profile.ts: --cpu-prof, which
 * NODE_OPTIONS may not carry; "" for Node's defaults).
 */
const nodeFlags = () => (process.env.BENCH_NODE_FLAGS ?? SERVER_NODE_FLAGS.join(" ")).split(" ").filter(Boolean);
const NEXT_CLI = path.join(ROOT, "node_modules/next/dist/bin/next");
export const BARE_NEXT_DIR = path.join(ROOT, "bench/peers/bare-next");

export interface Server {
  name: string;
  base: string;
  process: ChildProcess;
  /** from spawning the process to its first answer on /health: what a restart costs the users */
  readyMs: number;
  stop(): Promise<void>;
}

/** BENCH_PORTS="3540-3555" keeps every server in that range (a shared machine hands each user a range); otherwise any free port. */
const PORT_RANGE = /^(\d+)-(\d+)$/.exec(process.env.BENCH_PORTS ?? "");
const handedOut = new Set<number>();

function listenable(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(port, "127.0.0.1", () => {
      const { port: bound } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  if (!PORT_RANGE) return listenable(0);
  for (let port = Number(PORT_RANGE[1]); port <= Number(PORT_RANGE[2]); port += 1) {
    if (handedOut.has(port)) continue;
    const free = await listenable(port).then(
      () => true,
      () => false,
    );
    if (!free) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in BENCH_PORTS=${process.env.BENCH_PORTS}`);
}

async function waitUntilAnswering(base: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before answering`);
    const answered = await fetch(`${base}/health`).then(
      (response) => response.status < 500 || response.status === 503,
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} did not answer on ${base} within 2 minutes`);
}

/**
 * Servers still running, stopped if the bench is interrupted (Ctrl-C, kill): one left behind keeps
 * its data root's lock, and the next bench's server on that root refuses to start.
 */
const running = new Set<ChildProcess>();
const stopRunning = () => {
  for (const child of running) child.kill("SIGTERM");
};
process.once("exit", stopRunning);
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    stopRunning();
    process.exit(code);
  });
}

async function start(name: string, command: string, args: string[], env: Record<string, string>, cwd = ROOT): Promise<Server> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawn(
    command,
    args.map((arg) => arg.replace("$PORT", String(port))),
    {
      cwd,
      env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", MALLOC_ARENA_MAX: "2", PORT: String(port), HOSTNAME: "127.0.0.1", ...env },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));
  const base = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(base, child, name);
  return {
    name,
    base,
    process: child,
    readyMs: performance.now() - spawnedAt,
    stop: () =>
      new Promise((resolve) => {
        handedOut.delete(port);
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export type ServeMode = "start" | "standalone";

/**
 * Our production build, served as `npm start` serves it, or by the image's standalone server.js.
 * `root` serves another checkout's build (BENCH_BASELINE: the build before a change, beside this one).
 */
export function startOurs(mode: ServeMode, env: Record<string, string>, root = ROOT, label = "ours"): Promise<Server> {
  if (mode === "standalone") {
    const server = path.join(root, ".next/standalone/server.js");
    if (!fs.existsSync(server)) throw new Error("No standalone build: run MIMIR_STANDALONE_BUILD=1 next build first");
    // server.js runs from its own folder: lay out beside it what the Dockerfile copies there.
    const standalone = path.dirname(server);
    for (const item of ["drizzle", ".next/static", "public", "docs/recovery.md"]) {
      if (fs.existsSync(path.join(root, item))) fs.cpSync(path.join(root, item), path.join(standalone, item), { recursive: true });
    }
    return start(`${label} (standalone)`, process.execPath, [...nodeFlags(), server], env, standalone);
  }
  if (!fs.existsSync(path.join(root, ".next/BUILD_ID"))) throw new Error(`No production build in ${root}: run next build first`);
  return start(`${label} (next start)`, process.execPath, [...nodeFlags(), NEXT_CLI, "start", "-p", "$PORT", "-H", "127.0.0.1"], env, root);
}

/** Whether the bare peer's build is missing or older than one of its sources (bench/peers/bare-next/.next is not committed). */
function bareNextBuildStale(): boolean {
  const built = path.join(BARE_NEXT_DIR, ".next/BUILD_ID");
  if (!fs.existsSync(built)) return true;
  const builtAt = fs.statSync(built).mtimeMs;
  const sources = fs.readdirSync(BARE_NEXT_DIR, { recursive: true, encoding: "utf8" }).filter((file) => !file.startsWith(".next") && file.endsWith("js"));
  return sources.some((file) => fs.statSync(path.join(BARE_NEXT_DIR, file)).mtimeMs > builtAt);
}

/**
 * The bare Next.js peer, built on first use and again when its sources change. `database` is the
 * peer's environment from prepareBenchRoot: BENCH_DB (SQLite) or BENCH_PG_URL (PostgreSQL).
 */
export function startBareNext(database: Record<string, string>, env: Record<string, string> = {}): Promise<Server> {
  if (bareNextBuildStale()) {
    console.log("building the bare Next.js peer (bench/peers/bare-next) …");
    const build = spawnSync(NEXT, ["build", BARE_NEXT_DIR], { cwd: ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
    if (build.status !== 0) throw new Error("the bare Next.js peer did not build");
  }
  return start("bare Next.js route", process.execPath, [...nodeFlags(), NEXT_CLI, "start", BARE_NEXT_DIR, "-p", "$PORT", "-H", "127.0.0.1"], {
    ...database,
    ...env,
  });
}

export function startRawNode(database: Record<string, string>): Promise<Server> {
  return start("raw node:http", process.execPath, [...nodeFlags(), path.join(ROOT, "bench/peers/raw-http.mjs")], database);
}
