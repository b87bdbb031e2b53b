import "server-only";
import { escapeIdentifier, type ClientBase } from "pg";

/**
 * Below this many source rows a table keeps its indexes and foreign keys during the copy: dropping
 * and recreating them costs a few statements, which only pays off once there are rows to maintain.
 */
export const DEFER_INDEXES_FROM_ROWS = 10_000;
/**
 * Sort memory for the index builds after the copy (this transaction only): PostgreSQL's 64 MB default
 * makes a million-row build spill to disk; a restore is where its documentation says to raise it.
 */
const BUILD_MEMORY = "256MB";

/** What was dropped before the copy, to be recreated after it by the same transaction. */
export interface DeferredIndexes {
  /** CREATE INDEX statements as pg_get_indexdef prints them */
  indexes: string[];
  /** ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY statements as pg_get_constraintdef prints them */
  foreignKeys: string[];
}

/**
 * Drops the secondary indexes of `tables` and every foreign key from or to them, inside the caller's
 * transaction, and returns how to recreate them (the switch to PostgreSQL's copy and a restore's load
 * of a dump use it). COPY into a table maintains each of its indexes row by row and runs a
 * foreign-key check per row; building an index once over the loaded rows (one sort) and validating a
 * foreign key with one join cost far less. Primary keys and unique constraints stay
 * (other constraints hang on them, and they catch a duplicate at the row that brings it), and so do
 * partial indexes (see below). The drops are
 * part of the copy's transaction, so a run that dies at any moment rolls them back with the rows:
 * the target keeps its full schema, empty.
 */
export async function dropIndexesForCopy(client: ClientBase, tables: string[]): Promise<DeferredIndexes> {
  if (tables.length === 0) return { indexes: [], foreignKeys: [] };
  const keys = await client.query<{ name: string; owner: string; def: string }>(
    `SELECT con.conname AS name, format('%I.%I', n.nspname, c.relname) AS owner, pg_get_constraintdef(con.oid) AS def
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE con.contype = 'f' AND n.nspname = current_schema()
        AND (c.relname = ANY($1) OR con.confrelid IN (SELECT oid FROM pg_class WHERE relname = ANY($1) AND relnamespace = n.oid))
      ORDER BY c.relname, con.conname`,
    [tables],
  );
  // Indexes that no constraint owns (a primary key's or unique constraint's index is the constraint's),
  // and not partial ones: those hold the few rows their predicate picks (running runs), so keeping them
  // costs the COPY one test per row, while building one afterwards reads the whole table.
  const indexes = await client.query<{ name: string; def: string }>(
    `SELECT format('%I.%I', n.nspname, i.relname) AS name, pg_get_indexdef(i.oid) AS def
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = current_schema() AND t.relname = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)
        AND x.indpred IS NULL
      ORDER BY t.relname, i.relname`,
    [tables],
  );
  for (const key of keys.rows) await client.query(`ALTER TABLE ${key.owner} DROP CONSTRAINT ${escapeIdentifier(key.name)}`);
  if (indexes.rows.length > 0) await client.query(`DROP INDEX ${indexes.rows.map((i) => i.name).join(", ")}`);
  return {
    indexes: indexes.rows.map((i) => i.def),
    foreignKeys: keys.rows.map((k) => `ALTER TABLE ${k.owner} ADD CONSTRAINT ${escapeIdentifier(k.name)} ${k.def}`),
  };
}

/**
 * Recreates what dropIndexesForCopy dropped, in the same transaction: the indexes first (the foreign
 * keys' validation may use them), each built in one pass over the copied rows. A duplicate under a
 * unique index or a row without its parent fails here, and the whole copy rolls back. `onBuilt` hears
 * of each statement done (the builds of a million-row copy take seconds each, and the progress bar
 * moves with them).
 */
export async function recreateIndexes(client: ClientBase, deferred: DeferredIndexes, onBuilt?: (statement: string) => void): Promise<void> {
  if (deferred.indexes.length === 0 && deferred.foreignKeys.length === 0) return;
  await client.query(`SET LOCAL maintenance_work_mem = '${BUILD_MEMORY}'`);
  for (const statement of [...deferred.indexes, ...deferred.foreignKeys]) {
    await client.query(statement);
    onBuilt?.(statement);
  }
}

/** What a progress message names for a recreated index or foreign key: "index job_executions_start_time_idx". */
export function describeBuilt(statement: string): string {
  const index = /^CREATE (?:UNIQUE )?INDEX (\S+)/.exec(statement);
  if (index) return `index ${index[1]}`;
  const key = /ADD CONSTRAINT (\S+)/.exec(statement);
  return key ? `foreign key ${key[1]}` : statement.slice(0, 60);
}
