/**
 * Run inside a private mount namespace whose MIMIR_HOME is a tiny tmpfs (see
 * lib/storage/full-disk.test.ts): fills the disk to the last byte, then takes a storage sample and
 * measures usage, and prints what came out as one JSON line. Exits non-zero only if something threw.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { ensureDataRoot } from "@/lib/config/data-root";
import { openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { takeStorageSample } from "@/lib/storage/sampler";
import { getStorageUsage } from "@/lib/storage/usage";

const home = process.argv[2]!;
const config = loadConfig({ MIMIR_HOME: home }, home);
setConfig(config);
ensureDataRoot(config);
const db = openDatabase(config.paths.database);
migrateDatabase(db, config.paths.database);
db.$client.pragma("wal_checkpoint(TRUNCATE)");
setAppDatabase(db, config.paths.database);

const filler = fs.openSync(path.join(config.paths.logs, "filler.log"), "w");
const chunk = Buffer.alloc(64 * 1024, 120);
let full = false;
for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
  try {
    for (;;) fs.writeSync(filler, chunk, 0, size);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    full = true;
  }
}
fs.closeSync(filler);

const sample = await takeStorageSample();
const usage = await getStorageUsage({ fresh: true });
const free = (await fs.promises.statfs(home)).bavail;
// du runs now, while the database is still open: its -wal and -shm go away when the process ends.
const du = (folder: string) => Number(execFileSync("du", ["-sb", folder], { encoding: "utf8" }).split("\t")[0]);
const volumes = usage.volumes.map((v) => ({ volume: v.volume, bytes: v.bytes, du: du(v.path) }));
console.log(JSON.stringify({ full, free, sample, volumes }));
