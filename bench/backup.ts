// Backup and restore against the stock tools, in one run, on a data root of ≥1 GB:
//   npm run bench:backup            (builds bench/.data/root once, ~2 min, then reuses it)
// Prints our backup time beside `tar czf` of the same five folders, our restore beside `tar xzf`,
// the ratios, and our peak RSS. Each of our operations runs in a child process of its own so its
// peak RSS (getrusage maxrss) is its own, not the data generator's.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "@/lib/config/load";
import { closeAppDatabase } from "@/lib/db/client";
import { createBackupSet } from "@/lib/backups/create-set";
import { replacedDataRemoved, restoreBackupSet } from "@/lib/backups/restore-set";
import { verifyBackupSet } from "@/lib/backups/verify";
import { VERIFICATION_FILE } from "@/lib/backups/store";
import { VOLUMES } from "@/lib/config/volumes";
import { BENCH_DIR, ensureBenchDataRoot, FOLDERS, openRoot, ROOT } from "@/bench/data-root";

function time(command: string, args: string[]): number {
  const started = performance.now();
  execFileSync(command, args, { stdio: "ignore" });
  return (performance.now() - started) / 1000;
}

function duBytes(folder: string): number {
  return Number(execFileSync("du", ["-sb", folder], { encoding: "utf8" }).split("\t")[0]);
}

/** One of our operations in a child process: prints {seconds, max_rss_mb} on stdout. */
async function child(operation: string) {
  const config = openRoot(ROOT);
  const started = performance.now();
  // When each step began, from the operation's own progress messages: where the time goes.
  const phases: Record<string, number> = {};
  const message = (text: string) => {
    const step = text.replace(/ mimir_\w+.*$/, "");
    phases[step] ??= Math.round((performance.now() - started) / 100) / 10;
  };
  const detail = phases;
  if (operation === "baseline") {
    // the process with the code loaded and the database open, doing nothing: what ours adds sits on top of it
  } else if (operation === "backup") {
    await createBackupSet({ trigger: "cli", passphrase: config.secrets.backupPassphrase, message });
  } else {
    const [id] = fs
      .readdirSync(config.paths.backups)
      .filter((name) => /^\d{8}-\d{6}/.test(name))
      .sort()
      .reverse();
    if (operation === "verify") {
      await verifyBackupSet(id!, { message });
    } else {
      // "restore" is the usual case: the set passed its drill right after it was written (as every
      // new set does); "restore-unverified" runs the whole drill (integrity_check) inside the restore.
      if (operation === "restore-unverified") fs.rmSync(path.join(config.paths.backups, id!, VERIFICATION_FILE), { force: true });
      // The safety set is written after the restore from the replaced data (nobody waits for it);
      // `npm run bench:restore` times the restore from click to done through its operation.
      await restoreBackupSet(id!, { volumes: VOLUMES, passphrase: config.secrets.backupPassphrase, safetyBackup: false, message });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await replacedDataRemoved();
  closeAppDatabase();
  console.log(JSON.stringify({ seconds, max_rss_mb: process.resourceUsage().maxRSS / 1024, detail }));
}

function runChild(operation: string): { seconds: number; max_rss_mb: number; detail: Record<string, number> } {
  // With the malloc setting `npm start`, `npm run mimir` and the image run with.
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2" };
  const result = spawnSync(process.execPath, ["--conditions=react-server", "--import", "tsx", "bench/backup.ts", "--child", operation], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env,
  });
  if (result.status !== 0) throw new Error(`${operation} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

async function main() {
  const childIndex = process.argv.indexOf("--child");
  if (childIndex > 0) return child(process.argv[childIndex + 1]!);

  ensureBenchDataRoot();
  const config = loadConfig({ ...process.env, MIMIR_HOME: ROOT }, ROOT);
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
  const inputBytes = FOLDERS.reduce((sum, folder) => sum + duBytes(path.join(ROOT, folder)), 0);
  const rows = Number(execFileSync("sqlite3", [config.paths.database, "SELECT count(*) FROM job_executions"], { encoding: "utf8" }));
  console.log(`data root: ${(inputBytes / 1e9).toFixed(2)} GB in ${FOLDERS.join(", ")}; ${rows.toLocaleString("en-US")} executions`);

  const peer = path.join(BENCH_DIR, "peer");
  fs.rmSync(peer, { recursive: true, force: true });
  fs.mkdirSync(path.join(peer, "x"), { recursive: true });
  const tarball = path.join(peer, "all.tar.gz");

  const baseline = runChild("baseline");
  const ours = runChild("backup");
  const tarCzf = time("tar", ["czf", tarball, "-C", ROOT, ...FOLDERS]);
  const verify = runChild("verify");
  const restore = runChild("restore");
  const tarXzf = time("tar", ["xzf", tarball, "-C", path.join(peer, "x")]);
  const unverified = runChild("restore-unverified");

  const setBytes = Number(execFileSync("du", ["-sb", config.paths.backups], { encoding: "utf8" }).split("\t")[0]);
  const f = (n: number) => n.toFixed(1).padStart(6);
  console.log("");
  console.log(
    `backup   ours ${f(ours.seconds)} s   tar czf ${f(tarCzf)} s   ratio ${(ours.seconds / tarCzf).toFixed(2)}   (set ${(setBytes / 1e6).toFixed(0)} MB, tar.gz ${(fs.statSync(tarball).size / 1e6).toFixed(0)} MB)`,
  );
  console.log(
    `restore  ours ${f(restore.seconds)} s   tar xzf ${f(tarXzf)} s   ratio ${(restore.seconds / tarXzf).toFixed(2)}   (a verified set: sha256 + extract + quick_check, foreign keys, row counts + swap; click to done: npm run bench:restore)`,
  );
  console.log(
    `         unverified set ${f(unverified.seconds)} s   ratio ${(unverified.seconds / tarXzf).toFixed(2)}   (the whole drill inside the restore: integrity_check instead of quick_check)`,
  );
  console.log(`verify   ours ${f(verify.seconds)} s   (the restore drill into a scratch folder, run after every backup; no stock-tool peer)`);
  console.log(
    `peak RSS ours: backup ${ours.max_rss_mb.toFixed(0)} MB, verify ${verify.max_rss_mb.toFixed(0)} MB, restore ${restore.max_rss_mb.toFixed(0)} MB, unverified restore ${unverified.max_rss_mb.toFixed(0)} MB (the same process doing nothing: ${baseline.max_rss_mb.toFixed(0)} MB)`,
  );
  console.log(
    `steps began at (s): backup ${JSON.stringify(ours.detail)}; restore ${JSON.stringify(restore.detail)}; unverified restore ${JSON.stringify(unverified.detail)}`,
  );
  fs.rmSync(peer, { recursive: true, force: true });
  fs.rmSync(config.paths.backups, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
