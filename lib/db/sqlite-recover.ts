import "server-only";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import Database from "better-sqlite3";
import { closeAppDatabase, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { listTableNames, quoteIdentifier } from "@/lib/db/sqlite-maintenance";
import { FILE_MODE } from "@/lib/files";

/**
 * Recovery of a damaged SQLite file into a new one, and the swap of a recovered file into place.
 * The damaged file is only ever read; the swap keeps a full copy of it (with its WAL) first.
 */

export type RecoveryMethod = "sqlite3 .recover" | "table-by-table salvage";

export interface RecoveredTable {
  name: string;
  /** rows in the new file */
  recovered: number;
  /** rows the damaged file reports, or null when it could not even count them */
  original: number | null;
}

export interface RecoveryReport {
  method: RecoveryMethod;
  tables: RecoveredTable[];
  /** rows .recover found but could not place in a table (kept in lost_and_found) */
  lostAndFound: number;
  /** what went wrong on the way, in SQLite's words */
  problems: string[];
}

/** Table where `.recover` puts orphaned rows. */
const LOST_AND_FOUND = "lost_and_found";

let cliRecoverWorks: boolean | undefined;

/**
 * Whether the sqlite3 shell here can really `.recover`: it must be installed and built with the
 * sqlite_dbpage table (Debian's 3.40 lists the command but fails with "SQL logic error"), so a
 * tiny database is recovered as the proof. Checked once per process.
 */
export function sqliteCliCanRecover(): boolean {
  if (cliRecoverWorks !== undefined) return cliRecoverWorks;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-recover-probe-"));
  try {
    const probe = path.join(folder, "probe.db");
    const db = new Database(probe);
    db.exec("CREATE TABLE t(a); INSERT INTO t VALUES ('probe')");
    db.close();
    const run = spawnSync("sqlite3", [probe, ".recover"], { encoding: "utf8", timeout: 10_000 });
    cliRecoverWorks = run.status === 0 && run.stdout.includes("'probe'");
  } catch {
    cliRecoverWorks = false;
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
  return cliRecoverWorks;
}

/**
 * Writes `target` (must not exist) from whatever can still be read in `damaged`: through the
 * sqlite3 shell's `.recover` when available, else by copying each table row by row and stepping
 * over the damaged ranges. Reads `damaged` only; creates `target` with mode 0600.
 */
export async function recoverDatabaseFile(damaged: string, target: string, options: { preferCli?: boolean } = {}): Promise<RecoveryReport> {
  if (fs.existsSync(target)) throw new Error(`${target} already exists`);
  const useCli = (options.preferCli ?? true) && sqliteCliCanRecover();
  const problems = useCli ? await recoverWithCli(damaged, target) : salvageTables(damaged, target);
  fs.chmodSync(target, FILE_MODE);
  const originals = countRowsTolerantly(damaged);
  const recoveredDb = new Database(target, { fileMustExist: true });
  try {
    const names = listTableNames(drizzleLike(recoveredDb));
    const countIn = (name: string) =>
      recoveredDb
        .prepare(`SELECT count(*) FROM ${quoteIdentifier(name)}`)
        .pluck()
        .get() as number;
    const tables = [...new Set([...names.filter((n) => n !== LOST_AND_FOUND), ...originals.keys()])].sort().map((name) => ({
      name,
      recovered: names.includes(name) ? countIn(name) : 0,
      original: originals.get(name) ?? null,
    }));
    return {
      method: useCli ? "sqlite3 .recover" : "table-by-table salvage",
      tables,
      lostAndFound: names.includes(LOST_AND_FOUND) ? countIn(LOST_AND_FOUND) : 0,
      problems,
    };
  } finally {
    recoveredDb.close();
  }
}

/** listTableNames takes the app's Db type; a bare connection only needs `$client`. */
function drizzleLike(client: Database.Database) {
  return { $client: client } as Parameters<typeof listTableNames>[0];
}

/** `sqlite3 damaged .recover | sqlite3 target`, both sides streamed. Returns stderr lines as problems. */
function recoverWithCli(damaged: string, target: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const reader = spawn("sqlite3", ["-readonly", damaged, ".recover"], { stdio: ["ignore", "pipe", "pipe"] });
    const writer = spawn("sqlite3", ["-bail", target], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    const collect = (chunk: Buffer) => {
      if (stderr.length < 16_384) stderr += chunk.toString("utf8");
    };
    reader.stderr.on("data", collect);
    writer.stderr.on("data", collect);
    reader.stdout.pipe(writer.stdin);
    let exited = 0;
    let failed: string | null = null;
    const done = (who: string) => (code: number | null) => {
      if (code !== 0 && who === "writer") failed = `loading the recovered SQL failed (exit ${code})`;
      exited += 1;
      if (exited < 2) return;
      const problems = stderr
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      if (failed || !fs.existsSync(target)) reject(new Error(`${failed ?? "sqlite3 .recover wrote nothing"}: ${problems.join("; ")}`));
      else resolve(problems);
    };
    reader.on("close", done("reader"));
    writer.on("close", done("writer"));
    reader.on("error", reject);
    writer.on("error", reject);
  });
}

/** Rows copied per read while the table reads cleanly. */
const SALVAGE_CHUNK_ROWS = 1000;
/**
 * Unreadable rowids stepped over one by one (a failed seek costs microseconds) before the salvage
 * jumps in growing steps: a destroyed interior page can hide a long run of rowids whose leaves
 * are still readable, and each of those rows counts.
 */
const SALVAGE_LINEAR_PROBES = 1_000_000;
/** Growing jumps after that, before giving up on the rest of a table. */
const SALVAGE_MAX_JUMPS = 40;

/** Fallback when no sqlite3 shell is installed: schema first, then each table's readable rows by rowid. */
function salvageTables(damaged: string, target: string): string[] {
  const problems: string[] = [];
  const source = new Database(damaged, { readonly: true, fileMustExist: true });
  const dest = new Database(target);
  // Rows arrive table by table, children possibly before parents: constraints are checked by integrity_check after.
  dest.pragma("foreign_keys = OFF");
  try {
    const schema = source.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").all() as {
      type: string;
      name: string;
      sql: string;
    }[];
    for (const entry of schema.filter((e) => e.type === "table" && !e.name.startsWith("sqlite_"))) {
      dest.exec(entry.sql);
      const columns = (source.pragma(`table_info(${quoteIdentifier(entry.name)})`) as { name: string }[]).map((c) => quoteIdentifier(c.name));
      const read = source.prepare(`SELECT rowid, ${columns.join(", ")} FROM ${quoteIdentifier(entry.name)} WHERE rowid >= ? ORDER BY rowid LIMIT ?`).raw(true);
      const write = dest.prepare(
        `INSERT OR IGNORE INTO ${quoteIdentifier(entry.name)} (rowid, ${columns.join(", ")}) VALUES (${["?", ...columns.map(() => "?")].join(", ")})`,
      );
      let next = Number.MIN_SAFE_INTEGER;
      let limit = SALVAGE_CHUNK_ROWS;
      let failures = 0;
      let jump = 1;
      let firstFailure: string | null = null;
      while (failures < SALVAGE_LINEAR_PROBES + SALVAGE_MAX_JUMPS) {
        try {
          const rows = read.all(next, limit) as unknown[][];
          if (rows.length === 0) break;
          dest.transaction(() => rows.forEach((row) => write.run(...row)))();
          next = Number(rows.at(-1)![0]) + 1;
          limit = SALVAGE_CHUNK_ROWS;
        } catch (error) {
          // Narrow down to the first unreadable row, then step over it.
          if (limit > 1) {
            limit = Math.max(1, Math.floor(limit / 8));
            continue;
          }
          firstFailure ??= `${entry.name}: rows from rowid ${next} on could not all be read (${(error as Error).message})`;
          failures += 1;
          if (next === Number.MIN_SAFE_INTEGER) next = 0;
          if (failures > SALVAGE_LINEAR_PROBES) jump *= 4;
          next += jump;
        }
      }
      if (firstFailure) problems.push(firstFailure);
    }
    for (const entry of schema.filter((e) => e.type !== "table")) {
      try {
        dest.exec(entry.sql);
      } catch (error) {
        problems.push(`${entry.type} ${entry.name}: ${(error as Error).message}`);
      }
    }
  } finally {
    source.close();
    dest.close();
  }
  return problems;
}

/** Row counts per table of a possibly damaged file; a table that cannot be counted is left out. */
function countRowsTolerantly(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    for (const name of listTableNames(drizzleLike(db))) {
      try {
        counts.set(
          name,
          db
            .prepare(`SELECT count(*) FROM ${quoteIdentifier(name)}`)
            .pluck()
            .get() as number,
        );
      } catch {
        // A damaged b-tree: this table's original size is unknown, and the report says so.
      }
    }
  } catch {
    // Not even the schema can be read: every original count is unknown.
  } finally {
    db?.close();
  }
  return counts;
}

/**
 * Puts `replacement` in place of the live database: closes the app connection, copies the live
 * file and its WAL to `keepAs` (+ `-wal`) and fsyncs them, removes the old WAL and SHM (a new file
 * beside an old hot journal would be corrupted), renames the replacement into place, and opens it
 * as the app database again. The caller must hold app writes paused.
 */
export function swapInDatabaseFile(live: string, replacement: string, keepAs: string): void {
  closeAppDatabase();
  try {
    for (const suffix of ["", "-wal"]) {
      if (!fs.existsSync(live + suffix)) continue;
      fs.copyFileSync(live + suffix, keepAs + suffix, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(keepAs + suffix, FILE_MODE);
      const fd = fs.openSync(keepAs + suffix, "r");
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
    for (const suffix of ["-wal", "-shm", "-journal"]) fs.rmSync(live + suffix, { force: true });
    fs.renameSync(replacement, live);
  } finally {
    const db = openDatabase(live);
    migrateDatabase(db, live);
    setAppDatabase(db, live);
  }
}
