// A restore's memory as the REAL server lives it (bench/restore.ts measures a tsx child instead):
//   npx next build && BENCH_PORTS=3520-3539 npm run bench:restore-server      (RUNS=1; ONLY=verified|unverified)
// It writes the set to restore the way bench:restore does when there is none.
// For each kind, a fresh production server (`next start`, MALLOC_ARENA_MAX=2 as `npm start` sets it)
// serves this checkout's bench/.data/root (the set bench:restore writes). Its RSS
// (/proc/<pid>/status VmRSS, every 20 ms, with the threads: the check and gzip workers live in the
// process) is sampled from idle, through POST /api/v1/backups/{id}/restore (bearer token) until the
// operation answers done, then until the safety set and its follow-up verify have ended; VmHWM is read
// at done and at the end. Prints one line per run: idle, peak at done, peak with the safety set and its verify.
// BENCH_BACKEND=postgres: the server runs on the PostgreSQL copy of the dataset bench:restore prepares
// (bench/.data/root-pg and its database), and restores a set holding its dump.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { BENCH_DIR, ROOT } from "@/bench/data-root";
import { startOurs } from "@/bench/servers";
import { BENCH_BACKEND, benchEnvironment, BENCH_TOKEN, preparePostgresDataset } from "@/bench/seeded-root";

const RUNS = Number(process.env.RUNS ?? 1);
const ONLY = process.env.ONLY;
const SET_FILE = path.join(BENCH_DIR, "restore-set-id");
const headers = { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json" };
const mb = (kib: number) => Math.round((kib * 1024) / 1e6);
/** The data root the server serves, and its environment: bench/.data/root, or its PostgreSQL copy. */
const dataset = BENCH_BACKEND === "postgres" ? await preparePostgresDataset() : null;
const HOME = dataset?.home ?? ROOT;
const SERVER_ENV = { ...benchEnvironment(HOME), ...dataset?.env };

/** VmRSS and VmHWM (KiB) of a process */
function status(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { rss: field("VmRSS"), hwm: field("VmHWM"), anon: field("RssAnon"), file: field("RssFile") + field("RssShmem") };
}

async function api<T>(base: string, method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface Operation {
  id: string;
  status: string;
  result?: { safety_backup_id?: string };
}

async function idleOperations(base: string) {
  for (;;) {
    const running = (await api<{ items: Operation[] }>(base, "GET", "/api/v1/operations?limit=20")).items.filter(
      (o) => o.status === "running" || o.status === "queued",
    );
    if (running.length === 0) return;
    await waitFor(base, running[0]!.id);
  }
}

/**
 * Polls an operation until it ends: every 50 ms for the restore, whose click to done is timed; every
 * 500 ms for the work after it, as the dashboard polls (a server asked more often than every 100 ms
 * never gets quiet enough for the full collection after work, lib/freed-memory.ts).
 */
async function waitFor(base: string, id: string, everyMs = 50): Promise<Operation> {
  for (;;) {
    const op = await api<Operation>(base, "GET", `/api/v1/operations/${id}`);
    if (op.status !== "running" && op.status !== "queued") return op;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A child of bench/restore.ts: "setup" writes and verifies the set, "prepare" verifies it again (after an unverified run removed its verification). */
function restoreBenchChild(kind: "setup" | "prepare") {
  const result = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", "bench/restore.ts", "--child", kind], {
    encoding: "utf8",
    env: { ...process.env, MALLOC_ARENA_MAX: "2" },
  });
  if (result.status !== 0) throw new Error(`${kind} failed: ${result.stderr}`);
}
const prepare = () => restoreBenchChild("prepare");

async function run(kind: string, id: string) {
  const backups = path.join(HOME, "backups");
  if (!fs.existsSync(path.join(backups, id, "verification.json"))) prepare();
  const server = await startOurs("start", SERVER_ENV);
  const pid = server.process.pid!;
  try {
    // Idle: what the server holds after its boot (and any drill it starts: an unverified set is verified at boot) and a few requests.
    await idleOperations(server.base);
    // Removed once the server is up: the restore reads it from the set's folder, so it runs the whole drill.
    if (kind === "unverified") fs.rmSync(path.join(backups, id, "verification.json"), { force: true });
    for (let i = 0; i < 20; i += 1) await api(server.base, "GET", "/api/v1/backups");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idle = status(pid);
    const anonPeak = { anon: 0, file: 0 };
    let peak = 0;
    let phase = "restore";
    const peaks: Record<string, number> = {};
    const sample = setInterval(() => {
      const { rss, anon, file } = status(pid);
      if (rss > peak) Object.assign(anonPeak, { anon, file });
      peak = Math.max(peak, rss);
      peaks[phase] = Math.max(peaks[phase] ?? 0, rss);
    }, 20);
    const started = performance.now();
    const op = await api<Operation>(server.base, "POST", `/api/v1/backups/${id}/restore`, { confirm: id });
    const done = await waitFor(server.base, op.id);
    const seconds = (performance.now() - started) / 1000;
    if (done.status !== "succeeded") throw new Error(`restore ${done.status}: ${JSON.stringify(done)}`);
    const atDone = status(pid);
    phase = "safety set";
    const safetyId = done.result!.safety_backup_id!;
    // The safety set, then its follow-up verify: each an operation; none running means both ended.
    for (;;) {
      const running = (await api<{ items: Operation[] }>(server.base, "GET", "/api/v1/operations?limit=20")).items.filter(
        (o) => o.status === "running" || o.status === "queued",
      );
      if (running.length === 0) break;
      if (fs.existsSync(path.join(backups, safetyId, "manifest.json"))) phase = "verify";
      await waitFor(server.base, running[0]!.id, 500);
    }
    const safetySeconds = (performance.now() - started) / 1000 - seconds;
    clearInterval(sample);
    const end = status(pid);
    if (!fs.existsSync(path.join(backups, safetyId, "manifest.json"))) throw new Error("the safety set was not written");
    fs.rmSync(path.join(backups, safetyId), { recursive: true, force: true });
    console.log(
      `${kind.padEnd(10)} ${seconds.toFixed(1)} s: server RSS idle ${mb(idle.rss)} MB (anon ${mb(idle.anon)}, file ${mb(idle.file)}; VmHWM since the start ${mb(idle.hwm)}); peak at done ${mb(atDone.hwm)} MB (VmHWM; sampled ${mb(peaks.restore ?? 0)}); ` +
        `after the safety set and its verify ${mb(end.hwm)} MB (sampled: safety set ${mb(peaks["safety set"] ?? 0)}, verify ${mb(peaks.verify ?? 0)}; ended ${safetySeconds.toFixed(1)} s after done; at the highest sample anon ${mb(anonPeak.anon)}, file ${mb(anonPeak.file)}); ` +
        `load ${fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`,
    );
  } finally {
    await server.stop();
  }
  if (kind === "unverified") prepare();
}

async function main() {
  // bench:restore removes its sets when it ends: write the set again when it is gone.
  if (!fs.existsSync(SET_FILE) || !fs.existsSync(path.join(HOME, "backups", fs.readFileSync(SET_FILE, "utf8").trim()))) {
    console.log("writing the set to restore …");
    restoreBenchChild("setup");
  }
  const id = fs.readFileSync(SET_FILE, "utf8").trim();
  const kinds = ["verified", "unverified"].filter((kind) => !ONLY || ONLY === kind);
  for (let i = 0; i < RUNS; i += 1) for (const kind of kinds) await run(kind, id);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
