import "server-only";
import { randomBytes } from "node:crypto";
import { finished } from "node:stream/promises";
import type { Pool, PoolClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { currentSchema, escapeIdentifier, escapeLiteral, onlyRow, readCatalog } from "./catalog";
import { dropIndexesForCopy, recreateIndexes } from "./deferred-indexes";
import { countRows } from "./dump";
import { readDump } from "./dump-reader";
import { inTransaction } from "./transaction";

/**
 * Restore and verify of a dump written by ./dump.ts. Both run in ONE transaction on one connection:
 * a restore commits only once every table is loaded (a kill -9, a lost connection or a bad file at
 * any moment rolls back to the old data: PostgreSQL never shows half of it), and a verify drill loads
 * the dump into a scratch schema and always rolls back, so it leaves nothing behind either.
 */

export interface RestoreOptions {
  /** the schema to restore into; default: the connection's current schema */
  schema?: string;
  /**
   * Tables whose live rows survive the restore when the dump is of this same deployment (the same
   * system_metadata instance_id): the access and audit tables, as on SQLite. For a dump of another
   * deployment the dump's rows are taken, and the live rows of `appendTable` are added after them.
   */
  carry?: { tables: readonly string[]; appendTable: string | null };
  /**
   * The migrations journal: never restored (the live one says which migrations this database has);
   * the dump must be of the same schema_version instead. Default: lib/db/postgres.ts's journal.
   */
  journalTable?: string;
  /**
   * Live rows that replace the dump's, by primary key `id`, whatever the dump's instance: the
   * operations that are running (the restore itself) or finished since the dump was taken, so a
   * reader never sees them vanish or turn back to running.
   */
  keepRows?: { table: string; ids: readonly string[] };
  /**
   * Written into system_metadata (key RESTORE_COMMIT_KEY) in the restore's own transaction: the
   * row is there if and only if the restore committed, so whoever finds the caller's file-side journal
   * after a kill can tell which way to finish (readRestoreCommit).
   */
  commitToken?: string;
  /** rows loaded so far, per chunk */
  progress?: (rows: number) => void;
  signal?: AbortSignal;
}

export interface RestoreResult {
  row_counts: Record<string, number>;
  same_instance: boolean;
  kept: string[];
  appended_rows: number;
}

/** Replaces every app table's rows with the dump's in one transaction; returns the rows loaded per table. */
export async function restorePostgresDump(pool: Pool, file: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return inTransaction(pool, async (client) => {
    const schema = options.schema ?? (await currentSchema(client));
    await client.query(`SELECT set_config('search_path', $1, true)`, [escapeIdentifier(schema)]);
    const journalTable = options.journalTable ?? JOURNAL_TABLE;
    const live = (await readCatalog(client, schema)).filter((table) => table.name !== journalTable);
    const liveNames = new Set(live.map((table) => table.name));
    const liveVersion = await metadata(client, "schema_version");
    const carried = (options.carry?.tables ?? []).filter((table) => liveNames.has(table));
    const liveInstance = await metadata(client, "instance_id");
    // Kept aside before the tables are emptied: temporary, dropped at commit or rollback.
    for (const table of carried)
      await client.query(`CREATE TEMP TABLE ${escapeIdentifier(`mimir_kept_${table}`)} ON COMMIT DROP AS SELECT * FROM ${escapeIdentifier(table)}`);
    const keepRows = options.keepRows && liveNames.has(options.keepRows.table) && options.keepRows.ids.length > 0 ? options.keepRows : null;
    const keptRowsTable = escapeIdentifier("mimir_kept_rows");
    if (keepRows) {
      await client.query(`CREATE TEMP TABLE ${keptRowsTable} ON COMMIT DROP AS SELECT * FROM ${escapeIdentifier(keepRows.table)} WHERE id = ANY($1::text[])`, [
        keepRows.ids,
      ]);
    }
    // One statement, so the foreign keys among the emptied tables never stand in the way.
    if (live.length > 0) await client.query(`TRUNCATE ${live.map((table) => escapeIdentifier(table.name)).join(", ")}`);
    // The secondary indexes and foreign keys are built once over the loaded rows, as psql's load of a
    // pg_dump does, instead of row by row through COPY (1M runs: the load took 33 s with them in place,
    // psql 14 s). Part of this transaction: a failure or a kill leaves them as they were.
    const deferred = await dropIndexesForCopy(
      client,
      live.map((table) => table.name),
    );

    const counts: Record<string, number> = {};
    for await (const item of readDump(file)) {
      options.signal?.throwIfAborted();
      if (item.kind !== "copy" || item.section !== "app") continue;
      if (item.table === journalTable) {
        for await (const unread of item.data) void unread;
        continue;
      }
      if (!liveNames.has(item.table)) throw new Error(`The dump has a table this database does not (${item.table}): it is of another schema version`);
      counts[item.table] = await copyIn(client, escapeIdentifier(item.table), item.columns, item.data, options.progress);
    }
    const missing = live.filter((table) => counts[table.name] === undefined).map((table) => table.name);
    if (missing.length > 0) throw new Error(`The dump lacks tables this database has (${missing.join(", ")}): it is of another schema version`);
    await recreateIndexes(client, deferred);

    const restoredVersion = await metadata(client, "schema_version");
    if (restoredVersion !== liveVersion) {
      throw new DumpVersionError(
        `The dump is of schema version ${restoredVersion ?? "(none)"} and this database is at ${liveVersion ?? "(none)"}: restore it into a database at its version, then let the app migrate it`,
      );
    }
    const restoredInstance = await metadata(client, "instance_id");
    const sameInstance = liveInstance !== null && liveInstance === restoredInstance;
    let appended = 0;
    if (sameInstance) {
      // Children first when emptying, parents first when filling (carry lists parents first).
      for (const table of [...carried].reverse()) await client.query(`DELETE FROM ${escapeIdentifier(table)}`);
      for (const table of carried) await client.query(`INSERT INTO ${escapeIdentifier(table)} SELECT * FROM ${escapeIdentifier(`mimir_kept_${table}`)}`);
    } else if (options.carry?.appendTable && carried.includes(options.carry.appendTable)) {
      appended = await appendLiveRows(client, options.carry.appendTable, live.find((table) => table.name === options.carry?.appendTable)?.sequences ?? []);
    }
    if (keepRows) {
      await client.query(`DELETE FROM ${escapeIdentifier(keepRows.table)} WHERE id = ANY($1::text[])`, [keepRows.ids]);
      await client.query(`INSERT INTO ${escapeIdentifier(keepRows.table)} SELECT * FROM ${keptRowsTable}`);
    }
    if (options.commitToken !== undefined && liveNames.has("system_metadata")) {
      await client.query("DELETE FROM system_metadata WHERE key = $1", [RESTORE_COMMIT_KEY]);
      await client.query("INSERT INTO system_metadata (key, value, updated_at) VALUES ($1, $2, now())", [RESTORE_COMMIT_KEY, options.commitToken]);
    }
    await advanceSequences(client, live);
    return { row_counts: counts, same_instance: sameInstance, kept: sameInstance ? carried : [], appended_rows: appended };
  });
}

/**
 * One table's rows through COPY, counted as they go; returns how many. `freeze`: COPY … FREEZE, for a
 * table created or emptied in the caller's open transaction (its rows written once, visible to all).
 */
export async function copyIn(
  client: PoolClient,
  target: string,
  columns: string,
  data: AsyncIterable<Buffer>,
  progress?: (rows: number) => void,
  freeze = false,
): Promise<number> {
  let rows = 0;
  const copy = client.query(copyFrom(`COPY ${target} (${columns}) FROM STDIN${freeze ? " WITH (FREEZE)" : ""}`));
  const failed = new Promise<never>((_, reject) => copy.once("error", reject));
  failed.catch(() => undefined);
  // Each piece is on its way to the server (or drained) before the next is asked for: the dump reader
  // reads the file into the same memory again (DumpItem.data).
  const written = (chunk: Buffer) => new Promise<void>((resolve, reject) => copy.write(chunk, (error) => (error ? reject(error) : resolve())));
  try {
    for await (const chunk of data) {
      const n = countRows(chunk);
      rows += n;
      progress?.(n);
      await Promise.race([written(chunk), failed]);
    }
    copy.end();
    await Promise.race([finished(copy), failed]);
  } catch (error) {
    copy.destroy(error as Error);
    throw error;
  }
  return rows;
}

/** The system_metadata key of the token a committed restore leaves (RestoreOptions.commitToken). */
export const RESTORE_COMMIT_KEY = "restore_commit";

/** The token the last committed restore left, or null: whether a restore whose journal survived a kill had committed. Reads only. */
export async function readRestoreCommit(pool: Pool): Promise<string | null> {
  const row = await pool.query<{ value: string }>("SELECT value FROM system_metadata WHERE key = $1", [RESTORE_COMMIT_KEY]);
  return row.rows[0]?.value ?? null;
}

/** Forgets the token once the restore it marks is finished on the file side too. Deletes one row. */
export async function clearRestoreCommit(pool: Pool): Promise<void> {
  await pool.query("DELETE FROM system_metadata WHERE key = $1", [RESTORE_COMMIT_KEY]);
}

/** drizzle's migrations journal as lib/db/postgres.ts keeps it, beside the app's tables. */
export const JOURNAL_TABLE = "__drizzle_migrations";

export class DumpVersionError extends Error {}

async function metadata(client: PoolClient, key: string): Promise<string | null> {
  const exists = await client.query("SELECT 1 FROM pg_class WHERE oid = to_regclass('system_metadata')");
  if (exists.rowCount === 0) return null;
  const row = await client.query<{ value: string }>("SELECT value FROM system_metadata WHERE key = $1", [key]);
  return row.rows[0]?.value ?? null;
}

/** Live rows of `table` added after the restored ones, with new identity values, so the live trail is not cut. */
async function appendLiveRows(client: PoolClient, table: string, sequences: { column: string }[]): Promise<number> {
  const identity = new Set(sequences.map((sequence) => sequence.column));
  const columns = await client.query<{ name: string }>(
    "SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    [escapeIdentifier(table)],
  );
  const list = columns.rows
    .map((row) => row.name)
    .filter((name) => !identity.has(name))
    .map(escapeIdentifier)
    .join(", ");
  // The sequences must be past the restored rows before new ones are numbered.
  await advanceSequences(client, [{ name: table, sequences: sequences as { column: string; sequence: string }[] }]);
  const order = identity.size > 0 ? ` ORDER BY ${[...identity].map(escapeIdentifier).join(", ")}` : "";
  const inserted = await client.query(
    `INSERT INTO ${escapeIdentifier(table)} (${list}) SELECT ${list} FROM ${escapeIdentifier(`mimir_kept_${table}`)}${order}`,
  );
  return inserted.rowCount ?? 0;
}

/**
 * Sequences are not transactional: a rolled-back restore would keep a setval. So they only ever move
 * forward, to past the highest id now in the table: never below a value already handed out.
 */
async function advanceSequences(client: PoolClient, tables: { name: string; sequences: { column: string; sequence: string }[] }[]): Promise<void> {
  for (const table of tables) {
    for (const { column, sequence } of table.sequences) {
      await client.query(
        `SELECT setval(${escapeLiteral(sequence)}, GREATEST((SELECT last_value FROM ${sequence}), (SELECT max(${escapeIdentifier(column)}) FROM ${escapeIdentifier(table.name)}), 1), true)`,
      );
    }
  }
}

export interface VerifyDumpResult {
  /** whether the dump was loaded (schema, rows, keys, indexes, foreign keys) into a scratch schema */
  loaded: boolean;
  row_counts: Record<string, number>;
  /** differences from the expected counts (empty when none were given or all match) */
  mismatches: { table: string; expected: number; found: number }[];
  /** why it could not load the dump, when it could not (it then only parsed it) */
  note: string | null;
}

/**
 * Restore drill: loads the whole dump into a scratch schema (mimir_verify_<random>) inside one
 * transaction that is always rolled back, counts the rows there and compares them with `expected`
 * (the manifest's). Keys, indexes and foreign keys are built on the loaded rows, so a dump that would
 * not load into an empty database fails here. Without CREATE on the database it parses the file
 * and counts its rows instead, and says so. Changes nothing.
 */
export async function verifyPostgresDump(pool: Pool, file: string, expected: Record<string, number> = {}): Promise<VerifyDumpResult> {
  return inTransaction(
    pool,
    async (client) => {
      const scratch = `mimir_verify_${randomBytes(6).toString("hex")}`;
      let loaded = true;
      let note: string | null = null;
      try {
        await client.query("SAVEPOINT scratch");
        await client.query(`CREATE SCHEMA ${escapeIdentifier(scratch)}`);
      } catch (error) {
        if ((error as { code?: string }).code !== "42501") throw error;
        await client.query("ROLLBACK TO SAVEPOINT scratch");
        loaded = false;
        note = "The database role may not CREATE a schema, so the drill parsed the dump and counted its rows without loading it";
      }
      if (loaded) await client.query(`SELECT set_config('search_path', $1, true)`, [escapeIdentifier(scratch)]);
      const counts: Record<string, number> = {};
      for await (const item of readDump(file)) {
        if (item.section !== "app") {
          if (item.kind === "copy") for await (const unread of item.data) void unread;
          continue;
        }
        if (item.kind === "statement") {
          if (loaded) await client.query(item.sql);
        } else if (loaded) {
          counts[item.table] = await copyIn(client, escapeIdentifier(item.table), item.columns, item.data);
        } else {
          let rows = 0;
          for await (const chunk of item.data) rows += countRows(chunk);
          counts[item.table] = rows;
        }
      }
      if (loaded) {
        for (const table of Object.keys(counts)) {
          const row = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${escapeIdentifier(table)}`);
          counts[table] = Number(onlyRow(row).n);
        }
      }
      const mismatches = Object.entries(expected)
        .filter(([table, rows]) => (counts[table] ?? 0) !== rows)
        .map(([table, rows]) => ({ table, expected: rows, found: counts[table] ?? 0 }));
      return { loaded, row_counts: counts, mismatches, note };
    },
    { commit: false },
  );
}
