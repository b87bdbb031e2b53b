import "server-only";
import { randomBytes } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { currentSchema, escapeIdentifier, escapeLiteral, onlyRow, readCatalog, type CatalogTable } from "./catalog";
import { readDump, type DumpSource } from "./dump-reader";
import { inTransaction } from "./transaction";
import { copyIn, DumpVersionError, JOURNAL_TABLE, RESTORE_COMMIT_KEY, type RestoreOptions, type RestoreResult } from "./restore";

/**
 * A restore in two steps, so that nobody waits for the load and the way back costs nothing:
 *
 * 1. stageDump loads the set's dump into a schema of its own beside the live one (mimir_restore_…),
 *    while the app serves as before: tables, rows, keys, indexes and foreign keys, as `psql -f` would
 *    load it into an empty database. That load is also the restore's check of the dump (it must load,
 *    with the manifest's row counts), so a set never drilled is not loaded twice.
 * 2. swapInStagedDump, inside the app's write pause, moves the live tables into a schema of their own
 *    (mimir_replaced_…) and the loaded ones into the live schema, in ONE transaction with the rows a
 *    restore keeps (access, audit, running operations): catalog updates only, a fraction of a second
 *    whatever the size. A failure or a kill before its commit leaves the live tables where they were.
 *
 * The replaced schema is the way back from the moment of the swap, as each volume's previous folder
 * is: the safety set is dumped from it after the restore is done, then it is dropped.
 *
 * The swap needs what the load in place (restorePostgresDump) does not: CREATE on the database, and
 * nothing outside the app's tables tied to them (swapBlocker); without those the restore loads in place.
 */

export const STAGED_SCHEMA_PREFIX = "mimir_restore_";
export const REPLACED_SCHEMA_PREFIX = "mimir_replaced_";
/** Connections that build the indexes and keys after the data, side by side (the build is CPU-bound: one per core of a small server). */
const BUILD_CONNECTIONS = 2;
/** Sort memory for each index build (these sessions only): the 64 MB default spills a million-row build to disk. */
const BUILD_MEMORY = "256MB";

/**
 * Why the live schema's tables cannot be swapped for staged ones, or null when they can. Each reason
 * would make the swap lose something a load in place keeps: a view, a trigger, a policy or a foreign
 * key of someone else's still pointing at the replaced tables, or a publication that no longer
 * carries the live ones. Reads only.
 */
export async function swapBlocker(pool: Pool, journalTable = JOURNAL_TABLE): Promise<string | null> {
  const client = await pool.connect();
  try {
    const schema = await currentSchema(client);
    const create = await client.query<{ ok: boolean }>("SELECT has_database_privilege(current_database(), 'CREATE') AS ok");
    if (!onlyRow(create).ok) return "the database role may not CREATE a schema in this database";
    const found = await client.query<{ reason: string }>(
      `WITH app AS (
         SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2
       )
       SELECT format('the table %s is not owned by this role', relname) AS reason FROM app a
        WHERE NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = a.oid), 'USAGE')
       UNION ALL
       SELECT format('%s is partitioned or inherited', relname) FROM app a
        WHERE EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = a.oid OR inhparent = a.oid)
       UNION ALL
       SELECT format('the view %s reads the table %s', v.oid::regclass, a.relname)
         FROM app a JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = a.oid AND d.classid = 'pg_rewrite'::regclass
         JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
        WHERE r.ev_class NOT IN (SELECT oid FROM app)
       UNION ALL
       SELECT format('the table %s has a foreign key to %s', c.conrelid::regclass, a.relname)
         FROM app a JOIN pg_constraint c ON c.confrelid = a.oid AND c.contype = 'f' WHERE c.conrelid NOT IN (SELECT oid FROM app)
       UNION ALL
       SELECT format('the table %s has the trigger %s', a.relname, t.tgname) FROM app a JOIN pg_trigger t ON t.tgrelid = a.oid AND NOT t.tgisinternal
       UNION ALL
       SELECT format('the table %s has the rule %s', a.relname, r.rulename) FROM app a JOIN pg_rewrite r ON r.ev_class = a.oid
       UNION ALL
       SELECT format('the table %s has the row security policy %s', a.relname, p.polname) FROM app a JOIN pg_policy p ON p.polrelid = a.oid
       UNION ALL
       SELECT format('the table %s is in the publication %s', a.relname, p.pubname)
         FROM app a JOIN pg_publication_rel pr ON pr.prrelid = a.oid JOIN pg_publication p ON p.oid = pr.prpubid
       UNION ALL
       SELECT format('the table %s has column privileges', a.relname) FROM app a
        WHERE EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = a.oid AND attacl IS NOT NULL)
       LIMIT 1`,
      [schema, journalTable],
    );
    return found.rows[0]?.reason ?? null;
  } finally {
    client.release();
  }
}

export interface StagedDump {
  schema: string;
  /** rows loaded per table (the migrations journal included, which the swap leaves out) */
  row_counts: Record<string, number>;
}

/**
 * Loads a dump written by ./dump.ts (its file, or its bytes as a restore extracts them) into a new
 * schema beside the live one and returns its name and row counts. Each table's rows go in with COPY …
 * FREEZE (written once, already visible to all: the index builds that read them next write no hint
 * bits), then the keys and indexes are built on BUILD_CONNECTIONS connections at once, then the
 * foreign keys (progress: how many of them are built). Changes nothing live. On a failure
 * (a bad dump, a cancel, a lost connection) the schema is dropped before the error is thrown; after a
 * kill, the next restore drops it (dropLeftoverSchemas).
 */
export async function stageDump(
  pool: Pool,
  dump: DumpSource,
  options: {
    /** the keys, indexes and foreign keys built so far, of all of them (after the rows are in) */
    progress?: (built: number, total: number) => void;
    message?: (text: string) => void;
    signal?: AbortSignal;
  } = {},
): Promise<StagedDump> {
  const schema = `${STAGED_SCHEMA_PREFIX}${randomBytes(6).toString("hex")}`;
  const clients: PoolClient[] = [];
  let failed: Error | undefined;
  try {
    for (let n = 0; n < BUILD_CONNECTIONS; n++) clients.push(await pool.connect());
    const [loader = clients[0] as PoolClient] = clients;
    await loader.query(`CREATE SCHEMA ${escapeIdentifier(schema)}`);
    for (const client of clients) {
      // One process per connection, no parallel workers: the two connections keep the two cores of a
      // small server busy already, and workers on top of them only queued the app's readers behind
      // four to six busy processes (a read beside the build waited 100-120 ms for a core).
      await client.query(
        `SELECT set_config('search_path', $1, false), set_config('maintenance_work_mem', $2, false),
                set_config('max_parallel_maintenance_workers', '0', false), set_config('max_parallel_workers_per_gather', '0', false)`,
        [escapeIdentifier(schema), BUILD_MEMORY],
      );
    }
    const counts: Record<string, number> = {};
    const keys: string[] = [];
    const foreignKeys: string[] = [];
    for await (const item of readDump(dump)) {
      options.signal?.throwIfAborted();
      if (item.section !== "app") continue;
      if (item.kind === "statement") {
        // Built once every table holds its rows (dump.ts writes them after the data, as pg_dump does).
        if (/^ALTER TABLE ONLY .* ADD CONSTRAINT .* FOREIGN KEY \(/s.test(item.sql)) foreignKeys.push(item.sql);
        else if (/^(ALTER TABLE ONLY .* ADD CONSTRAINT |CREATE (UNIQUE )?INDEX )/s.test(item.sql)) keys.push(item.sql);
        else await loader.query(item.sql);
        continue;
      }
      // FREEZE needs the table emptied in the same transaction; it was created just above, so this empties nothing.
      await loader.query("BEGIN");
      await loader.query(`TRUNCATE ${escapeIdentifier(item.table)}`);
      counts[item.table] = await copyIn(loader, escapeIdentifier(item.table), item.columns, item.data, undefined, true);
      await loader.query("COMMIT");
    }
    options.message?.("building the loaded tables' keys and indexes");
    const total = keys.length + foreignKeys.length;
    let built = 0;
    options.progress?.(built, total);
    for (const statements of [keys, foreignKeys]) {
      const queue = [...statements];
      await Promise.all(
        clients.map(async (client) => {
          for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
            options.signal?.throwIfAborted();
            await client.query(next);
            options.progress?.((built += 1), total);
          }
        }),
      );
    }
    return { schema, row_counts: counts };
  } catch (error) {
    failed = error as Error;
    throw error;
  } finally {
    // Discarded, never returned to the app's pool: their session settings (search_path, build
    // memory) must not follow them there, and after an error one may be mid-COPY.
    for (const client of clients) client.release(failed ?? true);
    // Once they are gone: an open transaction of theirs would hold locks the DROP waits for.
    if (failed) await dropSchema(pool, schema).catch(() => undefined);
  }
}

/**
 * Swaps the staged tables in: in ONE transaction, the live app tables (all but the migrations
 * journal) are locked, the rows a restore keeps are copied from them into the staged tables (see
 * RestoreOptions), the staged identities continue past the live ones, the live tables' grants and
 * storage options are given to the staged ones, and then the live tables move into a new schema
 * (the way back, returned as replaced_schema) and the staged ones into the live schema. The staged
 * schema, left with only its copy of the journal, is dropped. A failure rolls all of it back; the
 * staged schema is then the caller's to drop.
 */
export async function swapInStagedDump(
  pool: Pool,
  staged: StagedDump,
  options: Pick<RestoreOptions, "carry" | "journalTable" | "keepRows" | "commitToken"> & {
    /** the schema the live tables move into (newReplacedSchemaName): named by the caller before, so a journal can hold it */
    replacedSchema?: string;
  } = {},
): Promise<RestoreResult & { replaced_schema: string }> {
  return inTransaction(pool, async (client) => {
    const schema = await currentSchema(client);
    const journalTable = options.journalTable ?? JOURNAL_TABLE;
    const live = (await readCatalog(client, schema)).filter((table) => table.name !== journalTable);
    const incoming = new Map((await readCatalog(client, staged.schema)).filter((table) => table.name !== journalTable).map((table) => [table.name, table]));
    const extra = [...incoming.keys()].filter((name) => !live.some((table) => table.name === name));
    if (extra.length > 0) throw new Error(`The dump has a table this database does not (${extra.join(", ")}): it is of another schema version`);
    const missing = live.filter((table) => !incoming.has(table.name)).map((table) => table.name);
    if (missing.length > 0) throw new Error(`The dump lacks tables this database has (${missing.join(", ")}): it is of another schema version`);
    const liveVersion = await metadataIn(client, schema, "schema_version");
    const restoredVersion = await metadataIn(client, staged.schema, "schema_version");
    if (restoredVersion !== liveVersion) {
      throw new DumpVersionError(
        `The dump is of schema version ${restoredVersion ?? "(none)"} and this database is at ${liveVersion ?? "(none)"}: restore it into a database at its version, then let the app migrate it`,
      );
    }
    // Every writer (this instance's writes are paused; another instance's wait here) has finished, and
    // none starts until the commit, when their statements find the swapped-in tables by name. Readers
    // go on reading the live tables while the kept rows are copied: only the renames below hold them.
    const liveList = live.map((table) => table.qualified).join(", ");
    if (live.length > 0) await client.query(`LOCK TABLE ${liveList} IN SHARE ROW EXCLUSIVE MODE`);

    const from = (name: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;
    const into = (name: string) => `${escapeIdentifier(staged.schema)}.${escapeIdentifier(name)}`;
    const liveNames = new Set(live.map((table) => table.name));
    const carried = (options.carry?.tables ?? []).filter((table) => liveNames.has(table));
    const liveInstance = await metadataIn(client, schema, "instance_id");
    const restoredInstance = await metadataIn(client, staged.schema, "instance_id");
    const sameInstance = liveInstance !== null && liveInstance === restoredInstance;
    let appended = 0;
    if (sameInstance) {
      // Children first when emptying, parents first when filling (carry lists parents first).
      for (const table of [...carried].reverse()) await client.query(`DELETE FROM ${into(table)}`);
      for (const table of carried) await client.query(copyStatement(live, table, into(table), from(table)));
    } else if (options.carry?.appendTable && carried.includes(options.carry.appendTable)) {
      appended = await appendRows(client, incoming.get(options.carry.appendTable) as CatalogTable, from(options.carry.appendTable));
    }
    const keepRows = options.keepRows && liveNames.has(options.keepRows.table) && options.keepRows.ids.length > 0 ? options.keepRows : null;
    if (keepRows) {
      await client.query(`DELETE FROM ${into(keepRows.table)} WHERE id = ANY($1::text[])`, [keepRows.ids]);
      await client.query(`${copyStatement(live, keepRows.table, into(keepRows.table), from(keepRows.table))} WHERE id = ANY($1::text[])`, [keepRows.ids]);
    }
    if (options.commitToken !== undefined && liveNames.has("system_metadata")) {
      await client.query(`DELETE FROM ${into("system_metadata")} WHERE key = $1`, [RESTORE_COMMIT_KEY]);
      await client.query(`INSERT INTO ${into("system_metadata")} (key, value, updated_at) VALUES ($1, $2, now())`, [RESTORE_COMMIT_KEY, options.commitToken]);
    }
    for (const table of live) await continueAfter(client, table, incoming.get(table.name) as CatalogTable);
    for (const table of live) await carryTableSettings(client, table.qualified, into(table.name));

    const replaced = options.replacedSchema ?? newReplacedSchemaName();
    await client.query(`CREATE SCHEMA ${escapeIdentifier(replaced)}`);
    // From here to the commit readers wait: one round trip of catalog changes, then the commit. Their
    // indexes, constraints and owned sequences move with the tables.
    await client.query(
      [
        ...(live.length > 0 ? [`LOCK TABLE ${liveList} IN ACCESS EXCLUSIVE MODE`] : []),
        ...live.map((table) => `ALTER TABLE ${table.qualified} SET SCHEMA ${escapeIdentifier(replaced)}`),
        ...live.map((table) => `ALTER TABLE ${into(table.name)} SET SCHEMA ${escapeIdentifier(schema)}`),
        `DROP SCHEMA ${escapeIdentifier(staged.schema)} CASCADE`,
      ].join(";\n"),
    );
    const counts = Object.fromEntries(Object.entries(staged.row_counts).filter(([table]) => table !== journalTable));
    return { row_counts: counts, same_instance: sameInstance, kept: sameInstance ? carried : [], appended_rows: appended, replaced_schema: replaced };
  });
}

/** A fresh name for the schema a swap moves the replaced tables into. */
export function newReplacedSchemaName(): string {
  return `${REPLACED_SCHEMA_PREFIX}${randomBytes(6).toString("hex")}`;
}

/** `INSERT INTO target (columns) OVERRIDING SYSTEM VALUE SELECT columns FROM source`: by name, whatever order the columns were created in. */
function copyStatement(live: CatalogTable[], table: string, target: string, source: string): string {
  const columns = (live.find((candidate) => candidate.name === table)?.columns ?? []).map((column) => escapeIdentifier(column.name)).join(", ");
  return `INSERT INTO ${target} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM ${source}`;
}

/** Live rows added after the restored ones with new identity values (a set of another deployment), so the live trail is not cut. */
async function appendRows(client: PoolClient, target: CatalogTable, source: string): Promise<number> {
  const identity = new Set(target.sequences.map((sequence) => sequence.column));
  const list = target.columns
    .filter((column) => !identity.has(column.name))
    .map((column) => escapeIdentifier(column.name))
    .join(", ");
  // The identities must be past the restored rows before new ones are numbered.
  await continueAfter(client, null, target);
  const order = identity.size > 0 ? ` ORDER BY ${[...identity].map(escapeIdentifier).join(", ")}` : "";
  const inserted = await client.query(`INSERT INTO ${target.qualified} (${list}) SELECT ${list} FROM ${source}${order}`);
  return inserted.rowCount ?? 0;
}

/**
 * Each identity of a staged table continues past the highest value in it and past where the live
 * one stood: a value the live table ever handed out is never handed out again.
 */
async function continueAfter(client: PoolClient, live: CatalogTable | null, staged: CatalogTable): Promise<void> {
  for (const { column, sequence } of staged.sequences) {
    const old = live?.sequences.find((candidate) => candidate.column === column)?.sequence;
    const floor = old ? `(SELECT last_value FROM ${old})` : "1";
    await client.query(
      `SELECT setval(${escapeLiteral(sequence)}, GREATEST(${floor}, (SELECT max(${escapeIdentifier(column)}) FROM ${staged.qualified}), 1), true)`,
    );
  }
}

/** The grants others have on the live table, and its storage options, given to the table that replaces it. */
async function carryTableSettings(client: PoolClient, live: string, target: string): Promise<void> {
  const grants = await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN acl.grantee = 0 THEN NULL ELSE pg_get_userbyid(acl.grantee) END AS grantee, acl.privilege_type AS privilege, acl.is_grantable AS grantable
       FROM pg_class c, aclexplode(c.relacl) acl WHERE c.oid = $1::regclass AND acl.grantee <> c.relowner`,
    [live],
  );
  for (const grant of grants.rows) {
    const to = grant.grantee === null ? "PUBLIC" : escapeIdentifier(grant.grantee);
    await client.query(`GRANT ${grant.privilege} ON ${target} TO ${to}${grant.grantable ? " WITH GRANT OPTION" : ""}`);
  }
  const options = await client.query<{ options: string[] | null }>("SELECT reloptions AS options FROM pg_class WHERE oid = $1::regclass", [live]);
  const set = onlyRow(options).options;
  if (set && set.length > 0) await client.query(`ALTER TABLE ${target} SET (${set.join(", ")})`);
}

async function metadataIn(client: PoolClient, schema: string, key: string): Promise<string | null> {
  const table = `${escapeIdentifier(schema)}.${escapeIdentifier("system_metadata")}`;
  const exists = await client.query("SELECT 1 FROM pg_class WHERE oid = to_regclass($1)", [table]);
  if (exists.rowCount === 0) return null;
  const row = await client.query<{ value: string }>(`SELECT value FROM ${table} WHERE key = $1`, [key]);
  return row.rows[0]?.value ?? null;
}

/** Drops a staged or replaced schema with everything in it (one catalog transaction; the files go at commit). */
export async function dropSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
}

/**
 * The staged and replaced schemas nothing points at any more: left by a restore killed before its
 * swap (staged), or whose replaced tables could not be dropped once archived. Called only where no
 * restore is under way and none waits to be archived. Returns the schemas dropped.
 */
export async function dropLeftoverSchemas(pool: Pool): Promise<string[]> {
  const found = await pool.query<{ name: string }>(
    "SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1) OR starts_with(nspname, $2) ORDER BY nspname",
    [STAGED_SCHEMA_PREFIX, REPLACED_SCHEMA_PREFIX],
  );
  for (const row of found.rows) await dropSchema(pool, row.name);
  return found.rows.map((row) => row.name);
}
