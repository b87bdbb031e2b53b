import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import pg from "pg";
import { migratePostgres, openPostgresPool } from "@/lib/db/postgres";
import { getDb } from "@/lib/db/client";

/**
 * The PostgreSQL server the tests use: MIMIR_TEST_PG_URL, or the one scripts/ensure-postgres.sh starts
 * (127.0.0.1:5432, trust auth for local TCP, as on CI). Must name a database the role may connect
 * to; scratch databases are created from it.
 */
export const TEST_PG_URL = process.env.MIMIR_TEST_PG_URL || "postgres://root@127.0.0.1:5432/postgres";

/** Every database a test makes starts with this, so a leftover of a killed run is recognisable. */
export const SCRATCH_PREFIX = "mimir_t_";

export interface ScratchDatabase {
  name: string;
  /** TEST_PG_URL with the scratch database in it */
  url: string;
  /** drops the database, ending whatever connections are still open on it */
  drop: () => Promise<void>;
}

/** TEST_PG_URL pointed at another database of the same server. */
export function urlForDatabase(name: string, base = TEST_PG_URL): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** Runs one statement as the test role on the maintenance database of TEST_PG_URL. */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await client.query<R>(text, values);
  } finally {
    await client.end();
  }
}

/**
 * An empty database of its own (`mimir_t_<label>_<random>`), with the app's migrations applied unless
 * `migrate: false`. Call `drop()` in afterAll; it is safe to call twice.
 */
export async function createScratchDatabase(options: { label?: string; migrate?: boolean } = {}): Promise<ScratchDatabase> {
  const label = (options.label ?? "db")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, 24);
  const name = `${SCRATCH_PREFIX}${label}_${crypto.randomBytes(5).toString("hex")}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = urlForDatabase(name);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  if (options.migrate !== false) {
    const pool = openPostgresPool(url, { max_open: 2, max_idle: 0, max_lifetime_seconds: 0, connect_timeout_seconds: 10 });
    try {
      await migratePostgres(pool);
    } catch (error) {
      await drop();
      throw error;
    } finally {
      await pool.end();
    }
  }
  return { name, url, drop };
}

/** Which backend the dialect-neutral tests run on this time (the `postgres` vitest project sets it). */
export function testBackend(): "sqlite" | "postgres" {
  return process.env.MIMIR_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";
}

/**
 * Runs SQL synchronously through stock psql, for the synchronous test helpers (createTestDataRoot is
 * called bare in hundreds of hooks): CREATE/DROP DATABASE take a fraction of a second.
 */
export function psqlSync(statement: string, url = TEST_PG_URL): string {
  return execFileSync("psql", [url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement], {
    encoding: "utf8",
    env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A new database cloned from `template` (already migrated): the test's own, empty but for what migrations write. */
export function cloneDatabaseSync(template: string, label = "root"): ScratchDatabase {
  const name = `${SCRATCH_PREFIX}${label}_${crypto.randomBytes(5).toString("hex")}`;
  psqlSync(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    psqlSync(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  return { name, url: urlForDatabase(name), drop };
}

/**
 * One SQL statement against the process-wide database, for tests that reach behind the services
 * (a row edited "by hand"): `?` placeholders on both backends, rows back for a query.
 */
export async function rawSql<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T[]> {
  const client = getDb().$client as unknown;
  if (client instanceof pg.Pool) {
    let n = 0;
    const result = await client.query(
      text.replace(/\?/g, () => `$${++n}`),
      params,
    );
    return result.rows as T[];
  }
  const statement = (client as import("better-sqlite3").Database).prepare(text);
  if (statement.reader) return statement.all(...params) as T[];
  statement.run(...params);
  return [];
}

/** Several `;`-separated statements without parameters against the process-wide database (fixtures). */
export async function rawScript(text: string): Promise<void> {
  const client = getDb().$client as unknown;
  if (client instanceof pg.Pool) await client.query(text);
  else (client as import("better-sqlite3").Database).exec(text);
}
