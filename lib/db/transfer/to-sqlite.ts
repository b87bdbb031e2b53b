import "server-only";
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import type pg from "pg";
import { AppError } from "@/lib/errors";
import { openDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { nowIso } from "@/lib/db/timestamps";
import { canonical, checksumForm, INVALID, TableChecksum, type ColumnKind } from "@/lib/db/transfer/canonical";
import { ProgressMeter, type ProgressListener } from "@/lib/db/transfer/progress";
import { ident, pgCanonicalExpression, readPgShapes, type TableShape } from "@/lib/db/transfer/shape";
import {
  connectPg,
  describePgTarget,
  forEachCopyRow,
  versionProblem,
  type PreflightResult,
  type TableReport,
  type TransferReport,
} from "@/lib/db/transfer/to-postgres";

export interface MigrateToSqliteOptions {
  /** the PostgreSQL database to copy from */
  source: string;
  /** the new SQLite file; must not exist yet */
  target: string;
  onProgress?: ProgressListener;
  onMessage?: (text: string) => void;
}

/** The file the copy is built in; renamed to the target only once it is whole and verified. */
export function partialFileOf(target: string): string {
  return `${target}.migrating`;
}

/** The way back, checked as the way there: a reachable, recent PostgreSQL holding the app's tables, and a target file that is not there yet. */
export async function preflightToSqlite(sourceUrl: string, targetFile: string): Promise<PreflightResult & { shapes: TableShape[] }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const sourceRows: Record<string, number> = {};
  let shapes: TableShape[] = [];
  if (fs.existsSync(targetFile)) problems.push(`${targetFile} already exists: name a new file (the way back never overwrites a database).`);
  if (!fs.existsSync(path.dirname(path.resolve(targetFile)))) problems.push(`The folder ${path.dirname(path.resolve(targetFile))} does not exist.`);
  let client: pg.Client | null = null;
  try {
    client = await connectPg(sourceUrl);
  } catch (error) {
    problems.push(`Cannot connect to PostgreSQL at ${describePgTarget(sourceUrl)}: ${(error as Error).message}`);
  }
  if (client) {
    try {
      const { rows } = await client.query<{ version: number; server: string }>(
        "SELECT current_setting('server_version_num')::int AS version, current_setting('server_version') AS server",
      );
      notes.push(`PostgreSQL ${rows[0]!.server}`);
      const old = versionProblem(rows[0]!.version, rows[0]!.server);
      if (old) problems.push(old);
      shapes = await readPgShapes(client);
      if (!shapes.some((t) => t.name === "scheduled_jobs"))
        problems.push(`${describePgTarget(sourceUrl)} holds no Mimir AIP tables (no scheduled_jobs in its current schema).`);
      for (const table of shapes) {
        const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(table.name)}`);
        sourceRows[table.name] = Number(count.rows[0]!.n);
      }
    } finally {
      await client.end();
    }
  }
  return { problems, notes, sourceRows, shapes };
}

/**
 * PostgreSQL → a new SQLite file: the app's SQLite migrations, then every table copied in one SQLite
 * transaction from one REPEATABLE READ snapshot of PostgreSQL, counts and checksums compared before
 * the commit, and the file renamed into place only then. A run that dies leaves at most the
 * `.migrating` file, never a target that looks whole; the next run removes it.
 */
export async function migrateToSqlite(options: MigrateToSqliteOptions): Promise<TransferReport> {
  const say = options.onMessage ?? (() => undefined);
  const started = performance.now();
  const preflight = await preflightToSqlite(options.source, options.target);
  for (const note of preflight.notes) say(note);
  if (preflight.problems.length > 0) {
    throw new AppError("preflight_failed", `Nothing was changed: ${preflight.problems.length} problem(s) to fix first`, { details: preflight.problems });
  }
  const partial = partialFileOf(options.target);
  removeSqliteFiles(partial);
  const db = openDatabase(partial);
  migrateDatabase(db, partial);
  const target = db.$client;
  target.defaultSafeIntegers(true);
  const client = await connectPg(options.source);
  let kept = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const shapes = await readPgShapes(client);
    const present = new Map(
      (target.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).map((name) => [
        name,
        (target.prepare(`PRAGMA table_info(${ident(name)})`).all() as { name: string }[]).map((c) => c.name),
      ]),
    );
    const missing = shapes.flatMap((t) =>
      present.has(t.name) ? t.columns.filter((c) => !present.get(t.name)!.includes(c.name)).map((c) => `${t.name}.${c.name}`) : [t.name],
    );
    if (missing.length > 0) throw new AppError("preflight_failed", `This version's SQLite schema has no place for ${missing.join(", ")}: nothing was changed`);
    const total = shapes.reduce((n, t) => n + (preflight.sourceRows[t.name] ?? 0), 0);
    const checksums = new Map<string, TableChecksum>();
    target.exec("BEGIN IMMEDIATE");
    target.exec("DELETE FROM system_metadata");
    const copying = new ProgressMeter("copy", total, options.onProgress);
    for (const table of shapes) checksums.set(table.name, await copyIntoSqlite(client, target, table, copying));
    await client.query("COMMIT");
    const copySeconds = (performance.now() - started) / 1000;
    const verifyStarted = performance.now();
    const verifying = new ProgressMeter("verify", total, options.onProgress);
    const tables: TableReport[] = shapes.map((table) => {
      const source = checksums.get(table.name)!;
      const copy = sqliteChecksum(target, table, verifying);
      verifying.add(table.name, 0, true);
      return {
        table: table.name,
        sourceRows: source.rows,
        targetRows: copy.rows,
        sourceChecksum: source.hex,
        targetChecksum: copy.hex,
        ok: source.rows === copy.rows && source.hex === copy.hex,
      };
    });
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    const bad = tables.filter((t) => !t.ok);
    if (bad.length > 0) {
      target.exec("ROLLBACK");
      throw new AppError("verification_failed", `The copy does not match PostgreSQL in ${bad.map((t) => t.table).join(", ")}; no SQLite file was kept`, {
        details: tables,
      });
    }
    const now = nowIso();
    const upsert = target.prepare(
      "INSERT INTO system_metadata (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    );
    // The file's own schema version (its migrations journal), not PostgreSQL's.
    upsert.run("schema_version", String(target.prepare("SELECT count(*) FROM __drizzle_migrations").pluck().get()), now);
    upsert.run("migrated_from", `postgres:${describePgTarget(options.source)} at ${now}`, now);
    target.exec("COMMIT");
    target.pragma("wal_checkpoint(TRUNCATE)");
    target.close();
    const fd = fs.openSync(partial, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(partial, options.target);
    kept = true;
    return { tables, rows: tables.reduce((n, t) => n + t.targetRows, 0), copySeconds, verifySeconds, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end().catch(() => undefined);
    if (!kept) {
      if (target.open) target.close();
      removeSqliteFiles(partial);
    }
  }
}

function removeSqliteFiles(file: string) {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) fs.rmSync(file + suffix, { force: true });
}

/** SQLite's storage for a canonical value: booleans as 0/1, integers as 64-bit, the rest as text. */
function toSqliteValue(kind: ColumnKind, value: string | null, raw: string | null): unknown {
  if (value === null) return null;
  switch (kind) {
    case "boolean":
      return value === "t" ? 1 : 0;
    case "integer":
      return BigInt(value);
    case "real":
      return Number(value);
    case "json":
      return raw;
    default:
      return value;
  }
}

async function copyIntoSqlite(client: pg.Client, target: Database.Database, table: TableShape, meter: ProgressMeter): Promise<TableChecksum> {
  const checksum = new TableChecksum();
  const { columns } = table;
  const insert = target.prepare(
    `INSERT INTO ${ident(table.name)} (${columns.map((c) => ident(c.name)).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
  );
  const hashed: (string | null)[] = new Array(columns.length);
  const params: unknown[] = new Array(columns.length);
  await forEachCopyRow(client, `SELECT ${columns.map(pgCanonicalExpression).join(", ")} FROM ${ident(table.name)}`, (fields) => {
    for (let i = 0; i < columns.length; i += 1) {
      const kind = columns[i]!.kind;
      const value = canonical(kind, fields[i]);
      if (value === INVALID)
        throw new AppError("verification_failed", `${table.name}.${columns[i]!.name}: PostgreSQL returned ${String(fields[i]).slice(0, 60)}`);
      // The checksum form of the way there (checksumForm), so a round trip's checksums compare.
      hashed[i] = checksumForm(kind, value);
      params[i] = toSqliteValue(kind, value, fields[i]!);
    }
    checksum.add(hashed);
    insert.run(params);
    meter.add(table.name, 1);
  });
  meter.add(table.name, 0, true);
  return checksum;
}

/** The table as the new SQLite file holds it, through the same canonicaliser. */
export function sqliteChecksum(db: Database.Database, table: TableShape, meter?: ProgressMeter): TableChecksum {
  const checksum = new TableChecksum();
  const kinds = table.columns.map((c) => c.kind);
  const values: (string | null)[] = new Array(kinds.length);
  const stmt = db.prepare(`SELECT ${table.columns.map((c) => ident(c.name)).join(", ")} FROM ${ident(table.name)}`).raw(true);
  for (const row of stmt.iterate() as Iterable<unknown[]>) {
    for (let i = 0; i < kinds.length; i += 1) {
      const value = canonical(kinds[i]!, row[i]);
      if (value === INVALID)
        throw new AppError("verification_failed", `${table.name}.${table.columns[i]!.name} holds ${String(row[i]).slice(0, 60)} after the copy`);
      values[i] = checksumForm(kinds[i]!, value);
    }
    checksum.add(values);
    meter?.add(table.name, 1);
  }
  return checksum;
}
