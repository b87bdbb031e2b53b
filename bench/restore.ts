// Restore from click to done against `tar xzf` of the same five folders, in one run:
//   npm run bench:restore           (builds bench/.data/root once, ~3 min, then reuses it; RUNS=3)
// "Click to done" is what the Restore button and POST /api/v1/backups/{id}/restore start: the
// restore operation (startRestore, the route's one call) from its start until it is recorded as
// succeeded, with every safety step it takes before it answers; the safety set written afterwards
// from the replaced data is timed apart (nobody waits for it) and never instead. Verified set: the
// set passed its drill (as every new set does); unverified: its verification.json is removed, so
// the whole drill (integrity_check) runs inside the restore. Each restore runs in a child process so
// its peak RSS (getrusage maxrss) is its own. Prints medians and ratios.
// BASELINES=../other-checkout[,…]: the same restores of other checkouts (each with this file copied in
// and its own bench/.data/root) run in the same loop, interleaved, so a regression is measured under
// the same load as the code that fixes it.
// BENCH_BACKEND=postgres: the same dataset with its database in PostgreSQL (migrated once into
// `mimir_bench_dataset`, folders in bench/.data/root-pg); the set holds its dump, and the peer is what
// an operator does by hand: `tar xzf` of the folders and `psql -f` of a `pg_dump` into an empty
// database, both at once (the peer's time is the later of the two, each printed beside it).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { closeAppDatabase } from "@/lib/db/client";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { createBackupSet } from "@/lib/backups/create-set";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import { startRestore } from "@/lib/backups/service";
import { syncBackupCatalog } from "@/lib/backups/catalog";
import { verifyBackupSet } from "@/lib/backups/verify";
import { VERIFICATION_FILE } from "@/lib/backups/store";
import { failInterruptedOperations, listOperations, waitForOperation } from "@/lib/operations/service";
import { onPhasePoint } from "@/lib/backups/crash-points";
import type { Principal } from "@/lib/auth/scopes";
import type { BackupManifest } from "@/lib/backups/types";
import { BENCH_DIR, ensureBenchDataRoot, FOLDERS, openRoot, ROOT } from "@/bench/data-root";
import { BENCH_BACKEND, preparePostgresDataset } from "@/bench/seeded-root";
import { withServerNodeOptions } from "@/scripts/server-flags.mjs";

const RUNS = Number(process.env.RUNS ?? 3);
/** ONLY=verified or ONLY=unverified: time one kind (beside tar xzf) when working on it */
const ONLY = process.env.ONLY;
/**
 * FOLLOW_UP=skip: a run ends once the safety set is written, without waiting for the safety set's
 * follow-up verify (a whole drill, untimed): the next run fails the verify the exit cut short and
 * removes its scratch folder. Halves a run's time on a loaded machine; RSS "with its verify" is then not measured.
 */
const SKIP_FOLLOW_UP = process.env.FOLLOW_UP === "skip";
const BASELINES = (process.env.BASELINES ?? "")
  .split(",")
  .filter(Boolean)
  .map((dir) => path.resolve(dir));
const ADMIN: Principal = { kind: "user", id: "bench", name: "bench", role: "admin", scope: "admin" };
const SET_FILE = path.join(BENCH_DIR, "restore-set-id");
/** The data root the set is taken from and restored into (preparePostgresDataset names the PostgreSQL one). */
const HOME = BENCH_BACKEND === "postgres" ? path.join(BENCH_DIR, "root-pg") : ROOT;

interface ChildResult {
  seconds: number;
  /** peak RSS when the restore answered done */
  max_rss_mb: number;
  /** the safety set written after done, in the background (seconds after done) */
  safety_seconds: number;
  /** peak RSS once the safety set is written too */
  max_rss_after_safety_mb: number;
  /** peak RSS once the safety set's follow-up verify has ended too: the whole restore as the server lives it */
  max_rss_after_verify_mb: number;
  /** where the highest sampled RSS was reached, and what it was made of (MB) */
  rss_peak: { step: string; rss: number; heap: number; external: number; array_buffers: number };
  /** RSS when the restore was started (MB): what the process held before it */
  rss_at_start: number;
  phases: Record<string, number>;
}

/** The bench's data root, opened as the app opens it: bench/.data/root, or on PostgreSQL its copy there (preparePostgresDataset). */
async function openBenchRoot() {
  if (BENCH_BACKEND === "sqlite") return openRoot(ROOT);
  const dataset = await preparePostgresDataset();
  const config = loadConfig({ ...process.env, ...dataset.env, MIMIR_HOME: dataset.home }, dataset.home);
  setConfig(config);
  await openDataRoot(config);
  return config;
}

/** One restore through the operation the API starts; prints a ChildResult. */
async function child(kind: string) {
  if (kind === "setup") return setup();
  const config = await openBenchRoot();
  await syncBackupCatalog();
  const id = fs.readFileSync(SET_FILE, "utf8").trim();
  if (kind === "prepare") {
    await verifyBackupSet(id);
    await closeAppDatabase();
    console.log("{}");
    return;
  }
  if (kind === "unverified") fs.rmSync(path.join(config.paths.backups, id, VERIFICATION_FILE), { force: true });
  if (SKIP_FOLLOW_UP) {
    // What the previous run's exit cut short: its verify's operation row and scratch folder.
    await failInterruptedOperations();
    for (const name of fs.readdirSync(config.paths.backups))
      if (name.startsWith(".verify-")) fs.rmSync(path.join(config.paths.backups, name), { recursive: true, force: true });
  }
  const started = performance.now();
  // When each step was reached, from the restore's phase points: where the time goes.
  const phases: Record<string, number> = {};
  // RSS sampled every 20 ms, tagged with the last step reached: which step holds the memory (maxRSS only says how much).
  let step = "extracting mimir_data";
  const peak = { step, rss: 0, heap: 0, external: 0, array_buffers: 0 };
  const mb = (bytes: number) => Math.round(bytes / 1e6);
  const rssAtStart = mb(process.memoryUsage().rss);
  let traced = 0;
  const sample = setInterval(() => {
    const usage = process.memoryUsage();
    // RSS_TRACE=1: the samples themselves, every 250 ms, to see what grows when (stderr, beside the result).
    if (process.env.RSS_TRACE === "1" && (traced = (traced + 1) % 13) === 0) {
      const at = ((performance.now() - started) / 1000).toFixed(2);
      process.stderr.write(
        `rss ${at}s ${step}: rss ${mb(usage.rss)} heap ${mb(usage.heapUsed)} external ${mb(usage.external)} array_buffers ${mb(usage.arrayBuffers)}\n`,
      );
    }
    if (usage.rss > peak.rss * 1e6)
      Object.assign(peak, { step, rss: mb(usage.rss), heap: mb(usage.heapUsed), external: mb(usage.external), array_buffers: mb(usage.arrayBuffers) });
  }, 20);
  for (const phase of ["restore.extracted:mimir_data", "restore.after_extract", "restore.before_swap", "restore.after_reopen"]) {
    onPhasePoint(phase, () => {
      phases[phase.replace("restore.", "")] = Math.round((performance.now() - started) / 100) / 10;
      step = `after ${phase.replace("restore.", "")}`;
    });
  }
  const op = await startRestore(id, { confirm: id }, ADMIN);
  const done = await waitForOperation(op.id);
  const seconds = (performance.now() - started) / 1000;
  if (done.status !== "succeeded") throw new Error(`restore ${done.status}: ${JSON.stringify(done.error)}`);
  const maxRss = process.resourceUsage().maxRSS / 1024;
  step = "writing the safety set";
  await replacedDataRemoved();
  const safetySeconds = (performance.now() - started) / 1000 - seconds;
  const safetyId = (done.result as { safety_backup_id: string }).safety_backup_id;
  if (!fs.existsSync(path.join(config.paths.backups, safetyId, "manifest.json"))) throw new Error(`the safety set ${safetyId} was not written`);
  const maxRssAfterSafety = process.resourceUsage().maxRSS / 1024;
  step = "verifying the safety set";
  // The follow-up verify of the safety set (an operation of its own) is not timed, but it must end here:
  // left running in an exited process, it would hold off the next run's restore (one exclusive operation at a time).
  // It starts only once the safety set's backup operation has ended: until a verify begun after this
  // restore has ended too, it is still to come (an exit in that gap left it "running" in the database).
  const restoreStartedAt = Date.parse(done.created_at);
  for (; !SKIP_FOLLOW_UP;) {
    const operations = (await listOperations({ limit: 50 })).items;
    const running = operations.find((operation) => operation.status === "running");
    if (running) {
      await waitForOperation(running.id);
      continue;
    }
    if (operations.some((operation) => operation.kind === "verify" && Date.parse(operation.created_at) >= restoreStartedAt)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  clearInterval(sample);
  const result: ChildResult = {
    seconds,
    max_rss_mb: maxRss,
    safety_seconds: safetySeconds,
    max_rss_after_safety_mb: maxRssAfterSafety,
    max_rss_after_verify_mb: process.resourceUsage().maxRSS / 1024,
    rss_peak: peak,
    rss_at_start: rssAtStart,
    phases,
  };
  // Keep only the set under test: the next run restores the same one.
  fs.rmSync(path.join(config.paths.backups, safetyId), { recursive: true, force: true });
  await closeAppDatabase();
  console.log(JSON.stringify(result));
  process.exit(0);
}

/** Writes the set to restore from this checkout's data root and verifies it; prints its manifest. */
async function setup() {
  ensureBenchDataRoot();
  const config = await openBenchRoot();
  // An earlier bench killed mid-run leaves its operation marked running; nothing else uses this root.
  await failInterruptedOperations();
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
  const manifest = await createBackupSet({ trigger: "cli", passphrase: config.secrets.backupPassphrase });
  fs.writeFileSync(SET_FILE, manifest.id);
  await syncBackupCatalog();
  await verifyBackupSet(manifest.id);
  await closeAppDatabase();
  console.log(JSON.stringify(manifest));
  process.exit(0);
}

/** Runs this file's child `kind` in the checkout `cwd` (this one, or a baseline's). */
function runChild<T = ChildResult>(kind: string, cwd = process.cwd()): T {
  // With the malloc setting and the Node flags `npm start` and the image run the server with: the
  // restore's collections (lib/freed-memory.ts) cost the time they cost there.
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2", NODE_OPTIONS: withServerNodeOptions(process.env.NODE_OPTIONS) };
  const result = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", "bench/restore.ts", "--child", kind], {
    encoding: "utf8",
    maxBuffer: 1 << 22,
    env,
    cwd,
    stdio: ["ignore", "pipe", process.env.RSS_TRACE === "1" ? "inherit" : "pipe"],
  });
  if (result.status !== 0) throw new Error(`${kind} in ${cwd} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as T;
}

/** Runs a peer's command; resolves with the seconds from `started` until it exited. */
function finishes(command: string, args: string[], started: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const peer = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    peer.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    peer.once("error", reject);
    peer.once("exit", (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

/** On PostgreSQL the peer also loads a `pg_dump` of the dataset's database (taken once) into an empty database with psql. */
async function psqlPeer(folder: string) {
  const dataset = new URL((await preparePostgresDataset()).env.MIMIR_CONNECTION_STRING!);
  const dump = path.join(folder, "pg_dump.sql");
  execFileSync("pg_dump", ["--no-owner", "--no-privileges", "-f", dump, dataset.toString()], { stdio: "ignore" });
  const admin = new URL(dataset);
  admin.pathname = "/postgres";
  const target = new URL(dataset);
  target.pathname = "/mimir_bench_peer";
  const sql = (statement: string) => execFileSync("psql", ["-X", "-q", "-c", statement, admin.toString()], { stdio: "ignore" });
  const autovacuumWorkers = () =>
    Number(
      execFileSync("psql", ["-X", "-q", "-A", "-t", "-c", "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'", admin.toString()], {
        encoding: "utf8",
      }).trim(),
    );
  return {
    /**
     * Before each timed run, ours or the peer's: the server's dirty buffers written (CHECKPOINT) and
     * no autovacuum at work, which the run before leaves behind (a million rows just loaded are
     * vacuumed and analyzed for seconds): otherwise the run after the peer's paid for the peer's load.
     */
    settle: async () => {
      sql("CHECKPOINT");
      for (const deadline = Date.now() + 120_000; autovacuumWorkers() > 0 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 250));
    },
    empty: () => {
      sql("DROP DATABASE IF EXISTS mimir_bench_peer WITH (FORCE)");
      sql("CREATE DATABASE mimir_bench_peer");
    },
    load: (started: number) => finishes("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", dump, target.toString()], started),
    drop: () => sql("DROP DATABASE IF EXISTS mimir_bench_peer WITH (FORCE)"),
  };
}

/** The peer once: `tar xzf` of the folders into an empty one, and on PostgreSQL psql's load beside it. */
async function peerOnce(tarball: string, into: string, psql: Awaited<ReturnType<typeof psqlPeer>> | null) {
  fs.rmSync(into, { recursive: true, force: true });
  fs.mkdirSync(into, { recursive: true });
  psql?.empty();
  await psql?.settle();
  const started = performance.now();
  const [tar, load] = await Promise.all([finishes("tar", ["xzf", tarball, "-C", into], started), psql ? psql.load(started) : Promise.resolve(0)]);
  // The peer's database goes once timed: its autovacuum would otherwise run beside our next restore.
  psql?.drop();
  return { seconds: Math.max(tar, load), tar, load };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  const childIndex = process.argv.indexOf("--child");
  if (childIndex > 0) return child(process.argv[childIndex + 1]!);

  if (BENCH_BACKEND === "postgres" && BASELINES.length > 0) throw new Error("BASELINES are measured on SQLite only");
  console.log(`writing the set to restore (${BENCH_BACKEND}) …`);
  const manifest = runChild<BackupManifest>("setup");
  for (const baseline of BASELINES) runChild("setup", baseline);

  const peer = path.join(BENCH_DIR, "peer");
  fs.rmSync(peer, { recursive: true, force: true });
  fs.mkdirSync(peer, { recursive: true });
  const tarball = path.join(peer, "all.tar.gz");
  execFileSync("tar", ["czf", tarball, "-C", HOME, ...FOLDERS], { stdio: "ignore" });
  const psql = BENCH_BACKEND === "postgres" ? await psqlPeer(peer) : null;
  const peerName = psql ? "tar xzf + psql" : "tar xzf";
  const setBytes = Object.values(manifest.archives).reduce((sum, archive) => sum + archive.bytes, 0);
  const tarBytes = Object.values(manifest.archives).reduce((sum, archive) => sum + archive.tar_bytes, 0);
  console.log(
    `set ${manifest.id}: ${(setBytes / 1e6).toFixed(0)} MB compressed, ${(tarBytes / 1e9).toFixed(2)} GB restored; tar.gz ${(fs.statSync(tarball).size / 1e6).toFixed(0)} MB; ${RUNS} runs each, load ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );

  const tar: number[] = [];
  // This checkout, then each baseline: results by kind and checkout.
  const checkouts = [process.cwd(), ...BASELINES];
  const label = (cwd: string) => (cwd === process.cwd() ? "" : ` [${path.basename(cwd)}]`);
  const kinds = ["verified", "unverified"].filter((kind) => !ONLY || ONLY === kind);
  const results = new Map(kinds.flatMap((kind) => checkouts.map((cwd) => [`${kind}${label(cwd)}`, [] as ChildResult[]] as const)));
  // Interleaved, so a burst of load on the machine falls on every side alike; the checkouts take turns going first.
  for (let run = 0; run < RUNS; run += 1) {
    const peerRun = await peerOnce(tarball, path.join(peer, "x"), psql);
    tar.push(peerRun.seconds);
    const order = checkouts.map((_, i) => checkouts[(i + run) % checkouts.length]!);
    for (const kind of kinds) {
      for (const cwd of order) {
        await psql?.settle();
        results.get(`${kind}${label(cwd)}`)!.push(runChild(kind, cwd));
        // An unverified run removed the set's verification: the drill again, so the next verified run finds it.
        if (kind === "unverified") runChild("prepare", cwd);
      }
    }
    console.log(
      `run ${run + 1}: ${peerName} ${tar.at(-1)!.toFixed(1)} s${psql ? ` (tar ${peerRun.tar.toFixed(1)} s, psql ${peerRun.load.toFixed(1)} s, at once)` : ""}, ${[
        ...results,
      ]
        .map(([name, runs]) => `${name} ${runs[run]!.seconds.toFixed(1)} s (${(runs[run]!.seconds / tar.at(-1)!).toFixed(2)}x)`)
        .join(", ")}, load ${fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`,
    );
  }
  const t = median(tar);
  const f = (n: number) => n.toFixed(1).padStart(6);
  const line = (name: string, results: ChildResult[]) => {
    const seconds = median(results.map((r) => r.seconds));
    const rss = Math.max(...results.map((r) => r.max_rss_mb));
    const rssAfter = Math.max(...results.map((r) => r.max_rss_after_safety_mb));
    const rssVerify = Math.max(...results.map((r) => r.max_rss_after_verify_mb));
    const safety = median(results.map((r) => r.safety_seconds));
    const highest = results.reduce((a, b) => (b.rss_peak.rss > a.rss_peak.rss ? b : a)).rss_peak;
    console.log(
      `${name.padEnd(11)} ${f(seconds)} s   ${peerName} ${f(t)} s   ratio ${(seconds / t).toFixed(2)}   peak RSS ${rss.toFixed(0)} MB at done, ${rssAfter.toFixed(0)} MB with the safety set (written ${safety.toFixed(1)} s after done), ${rssVerify.toFixed(0)} MB with its verify`,
    );
    console.log(`            steps reached at (s): ${JSON.stringify(results[Math.floor(results.length / 2)]!.phases)}`);
    console.log(`            highest sampled RSS (MB): ${JSON.stringify(highest)}, at the start ${Math.max(...results.map((r) => r.rss_at_start))}`);
  };
  console.log("");
  for (const [name, runs] of results) line(name, runs);
  console.log(`load average after: ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  fs.rmSync(peer, { recursive: true, force: true });
  psql?.drop();
  for (const cwd of checkouts) fs.rmSync(path.join(cwd, path.relative(process.cwd(), HOME), "backups"), { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
