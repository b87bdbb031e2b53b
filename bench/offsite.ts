// Offsite copy to a loopback OpenSSH sshd against `scp` of the same files, in one run:
//   npm run bench:offsite              (OFFSITE_BENCH_MB=500 by default, OFFSITE_BENCH_ROUNDS=1)
// The set is ~500 MB of incompressible archives (random bytes, so neither side gains from
// compression) with a real manifest (sizes, sha256s) and a passed verification bound to it. Ours is
// the whole copy a user waits for: upload of every file, then its proof (the sha256 the server
// computes over the same SSH connection while the next file uploads, or the file read back through
// SFTP where the server runs no commands) compared with the manifest, manifest last. scp only uploads
// (in SFTP mode, OpenSSH's default since 9.0), with the cipher list our uploads use: OpenSSH's own
// default picks chacha20-poly1305, dearer than AES-GCM here, which would flatter our ratio.
// Each round also times the floor (floorCopy): OpenSSH itself doing the upload, fsync, rename and server-side sha256 a counted copy needs.
// OFFSITE_BENCH_SFTP_ONLY=1 runs the sshd with ForceCommand internal-sftp, to measure the read-back. Prints both times,
// the ratio, and our peak RSS beside the RSS before the copy (flat = independent of the set size).
import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import { closeAppDatabase, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { manifestDigest, writeVerification } from "@/lib/backups/store";
import { VOLUMES } from "@/lib/config/volumes";
import { createDestination, testDestination } from "@/lib/offsite/destinations";
import { copySetTo } from "@/lib/offsite/copy";
import type { CreateDestinationInput } from "@/lib/offsite/inputs";
import { UPLOAD_CIPHERS } from "@/lib/offsite/stores/openssh";
import { startTestSshd, type TestSshd } from "@/test/helpers/sshd";
import { freePort } from "@/bench/servers";

const TOTAL_MB = Number(process.env.OFFSITE_BENCH_MB ?? 500);
const ROUNDS = Number(process.env.OFFSITE_BENCH_ROUNDS ?? 1);
/** How the bytes split over the five archives, as in a real set: the database volume holds most. */
const SHARE: Record<(typeof VOLUMES)[number], number> = { mimir_data: 0.7, mimir_logs: 0.2, mimir_plugins: 0.08, mimir_config: 0.01, mimir_pipelines: 0.01 };

/** CPU seconds (user + system) of this process, and of the children it has waited for (scp and its ssh). */
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  // cutime and cstime (fields 16 and 17 of proc(5)), in clock ticks of 1/100 s.
  return { self: (usage.user + usage.system) / 1e6, children: (Number(fields[13]) + Number(fields[14])) / 100 };
};
const loadAverage = () =>
  os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(" ");
/**
 * OFFSITE_BENCH_CPU=1: CPU seconds per process name (node, ssh, sshd, openssl…) of this process and
 * every process under it (the sshd and its sessions included) over one phase, sampled from /proc by
 * bench/proc-cpu.py: where the CPU of a copy goes, ours beside scp's.
 */
const CPU_BY_PROCESS = process.env.OFFSITE_BENCH_CPU === "1";
async function cpuByProcess(): Promise<() => Promise<Record<string, [number, number]>>> {
  if (!CPU_BY_PROCESS) return async () => ({});
  const sampler = spawn("python3", [path.join(import.meta.dirname, "proc-cpu.py"), String(process.pid)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  sampler.stdout.on("data", (data: Buffer) => (out += data.toString()));
  const done = new Promise<void>((resolve) => sampler.on("close", () => resolve()));
  // Its first sample taken: what the processes had used before the phase is not counted.
  while (!out.includes("ready\n")) await new Promise((resolve) => setTimeout(resolve, 5));
  return async () => {
    sampler.stdin.end();
    await done;
    return JSON.parse(out.slice(out.indexOf("ready\n") + 6)) as Record<string, [number, number]>;
  };
}
/** "name user+system" per process, the dearest first. */
const cpuTable = (cpu: Record<string, [number, number]>) =>
  Object.entries(cpu)
    .map(([name, [user, system]]) => `${name} ${user.toFixed(2)}+${system.toFixed(2)}`)
    .join(", ");
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/**
 * The floor: what OpenSSH alone takes to do what a counted copy must do, with no code of ours in the
 * way. One `sftp -b` session puts each archive to a partial name with `put -f` (fsync) and renames it;
 * beside it, one `ssh` session has the server hash each archive with openssl as soon as its final name
 * appears; the manifest goes last, once every hash equals the manifest's. Ours over this is our own
 * overhead; this over scp is what the proof and the durability cost on the same two cores.
 */
async function floorCopy(sshd: TestSshd, folder: string, target: string, archives: { file: string; sha256: string }[]): Promise<void> {
  const remote = (file: string) => path.join(target, file);
  const common = ["-F", sshd.clientConfigFile, "-c", UPLOAD_CIPHERS];
  const waits = archives.map(({ file }) => `while [ ! -e '${remote(file)}' ]; do sleep 0.01; done; openssl dgst -sha256 -r '${remote(file)}'`);
  const hasher = spawn("ssh", [...common, "bench", waits.join("; ")], { stdio: ["ignore", "pipe", "inherit"] });
  let hashes = "";
  hasher.stdout.on("data", (data: Buffer) => (hashes += data.toString()));
  const hashed = new Promise<void>((resolve, reject) => hasher.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ssh hash: ${code}`)))));
  const sftp = spawn("sftp", [...common, "-q", "-b", "-", "bench"], { stdio: ["pipe", "ignore", "inherit"] });
  const uploaded = new Promise<void>((resolve, reject) => sftp.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`sftp: ${code}`)))));
  for (const { file } of archives) sftp.stdin.write(`put -f ${path.join(folder, file)} ${remote(file)}.part\nrename ${remote(file)}.part ${remote(file)}\n`);
  await hashed;
  const lines = hashes.trim().split("\n");
  archives.forEach(({ sha256 }, at) => {
    if (!lines[at]?.startsWith(sha256)) throw new Error(`floor: the server's hash of ${archives[at]!.file} differs`);
  });
  sftp.stdin.end(`put -f ${path.join(folder, "manifest.json")} ${remote("manifest.json")}\n`);
  await uploaded;
}

async function main() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-bench-offsite-"));
  const config = loadConfig({ ...process.env, MIMIR_HOME: home }, home);
  setConfig(config);
  ensureDataRoot(config);
  const db = openDatabase(config.paths.database);
  migrateDatabase(db, config.paths.database);
  setAppDatabase(db, config.paths.database);
  const sshd = await startTestSshd({ sftpOnly: process.env.OFFSITE_BENCH_SFTP_ONLY === "1", port: await freePort() });
  try {
    const id = "20260101-000000";
    const folder = path.join(config.paths.backups, id);
    fs.mkdirSync(folder, { recursive: true });
    const archives: Record<string, unknown> = {};
    for (const volume of VOLUMES) {
      const file = `${volume}.tar.gz`;
      const bytes = Math.max(1, Math.round(TOTAL_MB * SHARE[volume] * 1024 * 1024));
      // Written by head from /dev/urandom: the generator adds nothing to this process's RSS.
      execFileSync("sh", ["-c", `head -c ${bytes} /dev/urandom > "${path.join(folder, file)}"`]);
      const sha256 = execFileSync("sha256sum", [path.join(folder, file)], { encoding: "utf8" }).split(" ")[0];
      archives[volume] = { file, bytes, sha256, files: 1, tar_bytes: bytes, encrypted: false };
    }
    const manifest = {
      format: "mimir-backup",
      format_version: 1,
      id,
      app_version: "bench",
      schema_version: null,
      created_at: new Date().toISOString(),
      trigger: "manual",
      encrypted: false,
      archives,
      databases: {},
      row_counts: {},
    };
    fs.writeFileSync(path.join(folder, "manifest.json"), JSON.stringify(manifest, null, 2));
    writeVerification(folder, { status: "ok", verified_at: new Date().toISOString(), error: null, manifest_sha256: manifestDigest(folder) });
    const files = fs.readdirSync(folder).filter((name) => name !== "verification.json");
    const setBytes = files.reduce((sum, name) => sum + fs.statSync(path.join(folder, name)).size, 0);
    console.log(`set: ${files.length} files, ${mb(setBytes)}; sshd on 127.0.0.1:${sshd.port}; ${ROUNDS} round(s)`);

    const ours: number[] = [];
    const proofs = new Set<string>();
    const scp: number[] = [];
    const floor: number[] = [];
    const floorArchives = VOLUMES.map((volume) => archives[volume] as { file: string; sha256: string });
    // Client CPU, which the load of other work on the machine does not change: where wall time is noise, this is not.
    const oursCpu: number[] = [];
    const scpCpu: number[] = [];
    const phases: string[] = [];
    const rssBefore = process.memoryUsage().rss;
    const loadBefore = loadAverage();
    for (let round = 0; round < ROUNDS; round += 1) {
      const scpTarget = path.join(sshd.folder, `scp-${round}`);
      fs.mkdirSync(scpTarget);
      let started = process.hrtime.bigint();
      const scpCpuBefore = cpuSeconds().children;
      let stopCpu = await cpuByProcess();
      execFileSync("scp", ["-q", "-F", sshd.clientConfigFile, "-c", UPLOAD_CIPHERS, ...files.map((name) => path.join(folder, name)), `bench:${scpTarget}/`]);
      scp.push(Number(process.hrtime.bigint() - started) / 1e9);
      scpCpu.push(cpuSeconds().children - scpCpuBefore);
      const scpByProcess = await stopCpu();
      fs.rmSync(scpTarget, { recursive: true });

      const floorTarget = path.join(sshd.folder, `floor-${round}`);
      fs.mkdirSync(floorTarget);
      started = process.hrtime.bigint();
      await floorCopy(sshd, folder, floorTarget, floorArchives);
      floor.push(Number(process.hrtime.bigint() - started) / 1e9);
      fs.rmSync(floorTarget, { recursive: true });

      const destination = await createDestination({
        kind: "sftp",
        name: `bench-${round}-${crypto.randomBytes(3).toString("hex")}`,
        enabled: false,
        require_encrypted: false,
        keep_days: null,
        keep_min: 1,
        settings: { host: sshd.host, port: sshd.port, user: sshd.user, folder: path.join(sshd.folder, `ours-${round}`) },
        secrets: { private_key: sshd.privateKey },
      } as CreateDestinationInput);
      // Tested once, as the Backups page offers on saving: that pins the server's host key, as scp's
      // known_hosts knows it. Copies after the first test are what the user waits for day to day.
      const tested = await testDestination(destination.id);
      if (!tested.ok) throw new Error(`the destination test failed: ${JSON.stringify(tested)}`);
      stopCpu = await cpuByProcess();
      started = process.hrtime.bigint();
      const oursCpuBefore = cpuSeconds();
      // Where the time goes, from the copy's own reports: the first byte the server acknowledged, the
      // last byte of the archives, the manifest's upload (it waits for every archive's proof), the end.
      const since = () => Number(process.hrtime.bigint() - started) / 1e6;
      const phase: { firstByte?: number; archivesSent?: number; manifest?: number } = {};
      const archiveBytes = setBytes - fs.statSync(path.join(folder, "manifest.json")).size;
      const sizes = files.filter((name) => name !== "manifest.json").map((name) => fs.statSync(path.join(folder, name)).size);
      const boundaries = new Set<number>();
      for (let mask = 1; mask < 1 << sizes.length; mask += 1) boundaries.add(sizes.reduce((sum, size, at) => (mask & (1 << at) ? sum + size : sum), 0));
      let lastDone: number | null = null;
      let lastAt = 0;
      let idle = 0;
      const copy = await copySetTo(id, destination.id, {
        progress: (done) => {
          const now = since();
          if (lastDone !== null && done > lastDone && boundaries.has(lastDone)) idle += now - lastAt;
          if (done !== lastDone) {
            lastDone = done;
            lastAt = now;
          }
          if (done > 0) phase.firstByte ??= since();
          if (done >= archiveBytes) phase.archivesSent ??= since();
        },
        message: (text) => {
          if (text.startsWith("copying manifest.json")) phase.manifest ??= since();
        },
      });
      ours.push(Number(process.hrtime.bigint() - started) / 1e9);
      const ms = (value: number | undefined) => (value === undefined ? "?" : `${value.toFixed(0)}`);
      phases.push(
        `round ${round + 1} (ms from the start): first byte acknowledged ${ms(phase.firstByte)}, archives' last byte ${ms(phase.archivesSent)}, manifest sent after every archive's proof ${ms(phase.manifest)}, done ${ms(since())}; link idle between archives ${ms(idle)}`,
      );
      // Ours counts the OpenSSH client (and its ssh-agent) the copy ran and has waited for, as scp's figure counts its ssh.
      const oursCpuAfter = cpuSeconds();
      oursCpu.push(oursCpuAfter.self - oursCpuBefore.self + oursCpuAfter.children - oursCpuBefore.children);
      // Stopped (and so waited for) only now: the sampler's own CPU is not counted as ours.
      const oursByProcess = await stopCpu();
      if (CPU_BY_PROCESS) phases.push(`round ${round + 1} CPU s by process: scp run: ${cpuTable(scpByProcess)}; ours: ${cpuTable(oursByProcess)}`);
      if (copy.status !== "verified") throw new Error(`the copy ended ${copy.status}: ${copy.error}`);
      proofs.add(String(copy.verified_by));
      fs.rmSync(path.join(sshd.folder, `ours-${round}`), { recursive: true });
      console.log(
        `round ${round + 1}: scp ${scp[round]!.toFixed(2)} s, floor ${floor[round]!.toFixed(2)} s, ours ${ours[round]!.toFixed(2)} s (proof: ${copy.verified_by})`,
      );
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const oursS = median(ours);
    const scpS = median(scp);
    const peakRss = process.resourceUsage().maxRSS * 1024;
    console.log("");
    console.log(
      `offsite copy of ${mb(setBytes)} to loopback sshd (upload + proof: ${[...proofs].join(", ")}): ${oursS.toFixed(1)} s (${mb(setBytes / oursS)}/s)`,
    );
    console.log(`scp of the same files (upload only):                                  ${scpS.toFixed(1)} s (${mb(setBytes / scpS)}/s)`);
    const floorS = median(floor);
    console.log(`floor: OpenSSH's sftp (fsync, rename) + the server's openssl sha256: ${floorS.toFixed(1)} s (${(floorS / scpS).toFixed(2)}x scp)`);
    console.log(`ratio ours / scp: ${(oursS / scpS).toFixed(2)}x (goal ≤ 1.2x); ours / floor: ${(oursS / floorS).toFixed(2)}x`);
    const perRound = ours.map((value, at) => `${(value / scp[at]!).toFixed(2)}/${(floor[at]! / scp[at]!).toFixed(2)}`);
    console.log(`per round, ours / scp and floor / scp: ${perRound.join(", ")}`);
    console.log(`client CPU (user + system): ours (+ its ssh) ${median(oursCpu).toFixed(1)} s, scp + ssh ${median(scpCpu).toFixed(1)} s`);
    for (const line of phases) console.log(line);
    console.log(`load average before / after: ${loadBefore} / ${loadAverage()} (2 cores shared: figures move with it)`);
    console.log(`our peak RSS: ${mb(peakRss)} (RSS before the copies: ${mb(rssBefore)}; the set is ${mb(setBytes)})`);
  } finally {
    await sshd.stop();
    closeAppDatabase();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
