// Restore from click to done against `tar xzf` of the same five folders, in one run:
//   npm run bench:restore           (builds bench/.data/root once, ~3 min, then reuses it; RUNS=3)
// "Click to done" is what the Restore button and POST /api/v1/backups/{id}/restore start: the
// restore operation (startRestore, the route's one call) from its start until it is recorded as
// succeeded, with every safety step it takes before it answers; the safety set written afterwards
// from the replaced data is timed apart (nobody waits for it) and never instead. Verified set: the
// set passed its drill (as every new set does); unverified: its verification.json is removed, so
// the whole drill (integrity_check) runs inside the restore. Each restore runs in a child process so
// its peak RSS (getrusage maxrss) is its own. Prints medians and ratios.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { closeAppDatabase } from "@/lib/db/client";
import { createBackupSet } from "@/lib/backups/create-set";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import { startRestore } from "@/lib/backups/service";
import { syncBackupCatalog } from "@/lib/backups/catalog";
import { verifyBackupSet } from "@/lib/backups/verify";
import { VERIFICATION_FILE } from "@/lib/backups/store";
import { failInterruptedOperations, listOperations, waitForOperation } from "@/lib/operations/service";
import { onPhasePoint } from "@/lib/backups/crash-points";
import type { Principal } from "@/lib/auth/scopes";
import { BENCH_DIR, ensureBenchDataRoot, FOLDERS, openRoot, ROOT } from "@/bench/data-root";

const RUNS = Number(process.env.RUNS ?? 3);
const ADMIN: Principal = { kind: "user", id: "bench", name: "bench", role: "admin", scope: "admin" };
const SET_FILE = path.join(BENCH_DIR, "restore-set-id");

interface ChildResult {
  seconds: number;
  /** peak RSS when the restore answered done */
  max_rss_mb: number;
  /** the safety set written after done, in the background (seconds after done) */
  safety_seconds: number;
  /** peak RSS once the safety set is written too */
  max_rss_after_safety_mb: number;
  phases: Record<string, number>;
}

/** One restore through the operation the API starts; prints a ChildResult. */
async function child(kind: string) {
  const config = openRoot(ROOT);
  await syncBackupCatalog();
  const id = fs.readFileSync(SET_FILE, "utf8").trim();
  if (kind === "prepare") {
    await verifyBackupSet(id);
    closeAppDatabase();
    console.log("{}");
    return;
  }
  if (kind === "unverified") fs.rmSync(path.join(config.paths.backups, id, VERIFICATION_FILE), { force: true });
  const started = performance.now();
  // When each step was reached, from the restore's phase points: where the time goes.
  const phases: Record<string, number> = {};
  for (const phase of ["restore.extracted:mimir_data", "restore.after_extract", "restore.before_swap", "restore.after_reopen"]) {
    onPhasePoint(phase, () => void (phases[phase.replace("restore.", "")] = Math.round((performance.now() - started) / 100) / 10));
  }
  const op = await startRestore(id, { confirm: id }, ADMIN);
  const done = await waitForOperation(op.id);
  const seconds = (performance.now() - started) / 1000;
  if (done.status !== "succeeded") throw new Error(`restore ${done.status}: ${JSON.stringify(done.error)}`);
  const maxRss = process.resourceUsage().maxRSS / 1024;
  await replacedDataRemoved();
  const safetySeconds = (performance.now() - started) / 1000 - seconds;
  const safetyId = (done.result as { safety_backup_id: string }).safety_backup_id;
  if (!fs.existsSync(path.join(config.paths.backups, safetyId, "manifest.json"))) throw new Error(`the safety set ${safetyId} was not written`);
  const result: ChildResult = {
    seconds,
    max_rss_mb: maxRss,
    safety_seconds: safetySeconds,
    max_rss_after_safety_mb: process.resourceUsage().maxRSS / 1024,
    phases,
  };
  // The follow-up verify of the safety set (an operation of its own) is not timed, but it must end here:
  // left running in an exited process, it would hold off the next run's restore (one exclusive operation at a time).
  for (;;) {
    const running = (await listOperations({ limit: 50 })).items.filter((operation) => operation.status === "running");
    if (running.length === 0) break;
    await waitForOperation(running[0]!.id);
  }
  // Keep only the set under test: the next run restores the same one.
  fs.rmSync(path.join(config.paths.backups, safetyId), { recursive: true, force: true });
  closeAppDatabase();
  console.log(JSON.stringify(result));
  process.exit(0);
}

function runChild(kind: string): ChildResult {
  // With the malloc setting `npm start`, `npm run mimir` and the image run with.
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2" };
  const result = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", "bench/restore.ts", "--child", kind], {
    encoding: "utf8",
    maxBuffer: 1 << 22,
    env,
  });
  if (result.status !== 0) throw new Error(`${kind} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

function tarXzf(tarball: string, into: string): number {
  fs.rmSync(into, { recursive: true, force: true });
  fs.mkdirSync(into, { recursive: true });
  const started = performance.now();
  execFileSync("tar", ["xzf", tarball, "-C", into], { stdio: "ignore" });
  return (performance.now() - started) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  const childIndex = process.argv.indexOf("--child");
  if (childIndex > 0) return child(process.argv[childIndex + 1]!);

  ensureBenchDataRoot();
  const config = openRoot(ROOT);
  // An earlier bench killed mid-run leaves its operation marked running; nothing else uses this root.
  await failInterruptedOperations();
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
  console.log("writing the set to restore …");
  const manifest = await createBackupSet({ trigger: "cli", passphrase: config.secrets.backupPassphrase });
  closeAppDatabase();
  fs.writeFileSync(SET_FILE, manifest.id);
  runChild("prepare");

  const peer = path.join(BENCH_DIR, "peer");
  fs.rmSync(peer, { recursive: true, force: true });
  fs.mkdirSync(peer, { recursive: true });
  const tarball = path.join(peer, "all.tar.gz");
  execFileSync("tar", ["czf", tarball, "-C", ROOT, ...FOLDERS], { stdio: "ignore" });
  const setBytes = Object.values(manifest.archives).reduce((sum, archive) => sum + archive.bytes, 0);
  const tarBytes = Object.values(manifest.archives).reduce((sum, archive) => sum + archive.tar_bytes, 0);
  console.log(
    `set ${manifest.id}: ${(setBytes / 1e6).toFixed(0)} MB compressed, ${(tarBytes / 1e9).toFixed(2)} GB restored; tar.gz ${(fs.statSync(tarball).size / 1e6).toFixed(0)} MB; ${RUNS} runs each, load ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );

  const tar: number[] = [];
  const verified: ChildResult[] = [];
  const unverified: ChildResult[] = [];
  // Interleaved, so a burst of load on the machine falls on both sides alike.
  for (let run = 0; run < RUNS; run += 1) {
    tar.push(tarXzf(tarball, path.join(peer, "x")));
    verified.push(runChild("verified"));
    unverified.push(runChild("unverified"));
    runChild("prepare");
    console.log(
      `run ${run + 1}: tar xzf ${tar.at(-1)!.toFixed(1)} s, verified ${verified.at(-1)!.seconds.toFixed(1)} s, unverified ${unverified.at(-1)!.seconds.toFixed(1)} s`,
    );
  }
  const t = median(tar);
  const f = (n: number) => n.toFixed(1).padStart(6);
  const line = (name: string, results: ChildResult[]) => {
    const seconds = median(results.map((r) => r.seconds));
    const rss = Math.max(...results.map((r) => r.max_rss_mb));
    const rssAfter = Math.max(...results.map((r) => r.max_rss_after_safety_mb));
    const safety = median(results.map((r) => r.safety_seconds));
    console.log(
      `${name.padEnd(11)} ours ${f(seconds)} s   tar xzf ${f(t)} s   ratio ${(seconds / t).toFixed(2)}   peak RSS ${rss.toFixed(0)} MB at done, ${rssAfter.toFixed(0)} MB with the safety set (written ${safety.toFixed(1)} s after done)`,
    );
    console.log(`            steps reached at (s): ${JSON.stringify(results[Math.floor(results.length / 2)]!.phases)}`);
  };
  console.log("");
  line("verified", verified);
  line("unverified", unverified);
  console.log(`load average after: ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  fs.rmSync(peer, { recursive: true, force: true });
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
