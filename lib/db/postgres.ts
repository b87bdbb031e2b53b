import "server-only";
import path from "node:path";
import crypto from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { nowIso } from "@/lib/db/timestamps";
import { closeAppDatabase, setAppPostgresDatabase } from "@/lib/db/client";
import { bindSchemaBackend } from "@/lib/db/schema/select";
import { AppError } from "@/lib/errors";

/** persistence.pool (lib/config/schema.ts), in its own units. */
export interface PoolSettings {
  max_open: number;
  max_idle: number;
  max_lifetime_seconds: number;
  connect_timeout_seconds: number;
}

export const DEFAULT_POOL: PoolSettings = { max_open: 10, max_idle: 5, max_lifetime_seconds: 3600, connect_timeout_seconds: 10 };

/** Idle connections above max_idle close after this long (pg-pool has a floor, not a ceiling, on idle clients). */
const IDLE_CLOSE_MS = 10_000;

/**
 * Session advisory locks of this product: pg_advisory_lock(int4, int4) with our namespace as the first
 * key ("MIMR"), so no other application's single-bigint locks can collide with ours.
 */
export const ADVISORY_LOCK_NAMESPACE = 0x4d494d52;
export const ADVISORY_LOCKS = { migrate: 1 } as const;

export type PgDb = NodePgDatabase & { $client: pg.Pool };

/**
 * A pool on `connectionString` with the guide's settings mapped onto node-postgres: max open → max,
 * max idle → min (+ close extra idle ones after 10 s), max lifetime → maxLifetimeSeconds, plus a
 * connect timeout so an exhausted pool or an unreachable server fails a request instead of hanging it.
 * Sessions run in UTC: time buckets and text casts of timestamptz read the same as on SQLite.
 */
export function openPostgresPool(connectionString: string, settings: PoolSettings = DEFAULT_POOL, applicationName = "mimir-console"): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: settings.max_open,
    min: Math.min(settings.max_idle, settings.max_open),
    idleTimeoutMillis: IDLE_CLOSE_MS,
    maxLifetimeSeconds: settings.max_lifetime_seconds,
    connectionTimeoutMillis: settings.connect_timeout_seconds * 1000,
    keepAlive: true,
    application_name: applicationName,
    options: "-c TimeZone=UTC",
  });
  // An idle connection the server drops (restart, pg_terminate_backend) emits 'error' on the pool; without
  // a listener that would end the process. The pool discards it and the next checkout connects afresh.
  pool.on("error", () => {});
  // A checked-out connection the server drops between two queries (a restart, pg_terminate_backend, a
  // database dropped WITH (FORCE)) emits 'error' on the client, where the pool no longer listens: the
  // same uncaught error. Its holder's next query fails instead, and the pool discards it on release.
  pool.on("connect", (client) => client.on("error", () => {}));
  // pool.query, which drizzle and the engine call, runs on the connection onEachIdleConnection pinned
  // to this async context while that one is checked out; anywhere else, as ever, on any of the pool's.
  const pinning = new AsyncLocalStorage<Pinned>();
  (pool as PinnablePool)[PINNING] = pinning;
  const anyConnection = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  pool.query = function queryOnPinnedOrAny(...args: unknown[]) {
    const pinned = pinning.getStore();
    if (!pinned || pinned.released) return anyConnection(...args);
    // One statement at a time on the connection, in the order sent: node-postgres queues a statement
    // sent while another runs, but deprecates it (a warning in the log; pg 9 refuses). Promise calls
    // only, as drizzle and this app make them.
    const send = () => (pinned.released ? anyConnection(...args) : (pinned.client.query as (...args: unknown[]) => Promise<unknown>)(...args));
    const result = pinned.last.then(send, send);
    pinned.last = result.catch(() => undefined);
    return result;
  } as unknown as pg.Pool["query"];
  return pool;
}

/** A connection onEachIdleConnection gave the async context it runs `work` in, until it gives it back. */
interface Pinned {
  client: pg.PoolClient;
  released: boolean;
  /** the last statement sent to it, which the next one waits for */
  last: Promise<unknown>;
}
/**
 * Where a pool keeps its pinning: on the pool object, under a registered symbol, because this module
 * exists once per Next.js bundle and a route bundle's copy must find the pinning of the pool that
 * boot (another bundle) opened.
 */
const PINNING = Symbol.for("mimir.postgresPinnedConnection");
type PinnablePool = pg.Pool & { [PINNING]?: AsyncLocalStorage<Pinned> };

/**
 * Runs `work` once on each connection idle in the pool, all at once: every statement of a run goes to
 * its own connection (pool.query, see openPostgresPool). A statement sent after its run ended (a
 * callback the work left behind) goes to the pool as usual, never to the connection given back.
 *
 * What it is for: PostgreSQL plans a statement slowly the first time one backend meets it (its
 * catalog and statistics caches are per backend: 4-12 ms against 1-2 once warm, bench:metrics). A
 * warm-up at boot (lib/direct-routes.ts warmUpAtBoot) run once warms the few connections it happened
 * to get; the first request then gets others from the pool and pays on its way.
 */
export async function onEachIdleConnection(pool: pg.Pool, work: () => Promise<unknown>): Promise<void> {
  const pinning = (pool as PinnablePool)[PINNING];
  if (!pinning) throw new Error("onEachIdleConnection needs a pool opened by openPostgresPool");
  const clients = await Promise.all(Array.from({ length: pool.idleCount }, () => pool.connect()));
  await Promise.all(
    clients.map(async (client) => {
      const pinned: Pinned = { client, released: false, last: Promise.resolve() };
      try {
        await pinning.run(pinned, work);
      } finally {
        pinned.released = true;
        client.release();
      }
    }),
  );
}

/**
 * Opens connections until `count` sit idle in the pool (its max_idle, which it keeps), all at once, so
 * that the first requests after boot do not each wait for a connection's start-up: a /metrics scrape
 * reads three things at once. A connection that fails to open is left to the next checkout.
 */
export async function openIdleConnections(pool: pg.Pool, count: number): Promise<void> {
  const wanted = Math.max(0, Math.min(count, pool.options.max ?? count) - pool.idleCount);
  const opened = await Promise.allSettled(Array.from({ length: wanted }, () => pool.connect()));
  for (const result of opened) if (result.status === "fulfilled") result.value.release();
}

/** drizzle over a pool; typed as node-postgres here, cast to the SQLite-typed Db by lib/db/client.ts. */
export function postgresDrizzle(pool: pg.Pool): PgDb {
  return drizzle({ client: pool }) as PgDb;
}

/** Where drizzle-kit writes the PostgreSQL migrations (drizzle.pg.config.ts); next build traces it with drizzle/. */
export function postgresMigrationsFolder(): string {
  return path.join(process.cwd(), "drizzle", "pg");
}

export interface PostgresMigrationReport {
  appliedMigrations: number;
  schemaVersion: string;
}

/**
 * Brings the database to the current schema under a session advisory lock, so two processes booting
 * together cannot both run it: drizzle's pg migrator reads the last applied migration before its own
 * transaction with no lock (drizzle-team/drizzle-orm#874), and the loser would fail on "already
 * exists". The journal lives in public.__drizzle_migrations, beside the tables, as it does in the
 * SQLite file, so one schema holds everything a dump or a restore has to carry.
 */
export async function migratePostgres(pool: pg.Pool, folder = postgresMigrationsFolder()): Promise<PostgresMigrationReport> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS.migrate]);
    try {
      const db = drizzle({ client });
      const before = await countMigrations(client);
      await migrate(db, { migrationsFolder: folder, migrationsSchema: "public", migrationsTable: "__drizzle_migrations" });
      const after = await countMigrations(client);
      const schemaVersion = String(after);
      const now = nowIso();
      await client.query(
        "INSERT INTO system_metadata (key, value, updated_at) VALUES ('schema_version', $1, $2) " +
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [schemaVersion, now],
      );
      await client.query(
        "INSERT INTO system_metadata (key, value, updated_at) VALUES ('instance_id', $1, $2), ('created_at', $2, $2) ON CONFLICT (key) DO NOTHING",
        [crypto.randomUUID(), now],
      );
      return { appliedMigrations: after - before, schemaVersion };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS.migrate]).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    // A connection whose unlock failed may still hold the lock: destroy it rather than return it to the pool.
    client.release(broken);
  }
}

async function countMigrations(client: pg.PoolClient): Promise<number> {
  const exists = await client.query<{ table: string | null }>("SELECT to_regclass('public.__drizzle_migrations')::text AS table");
  if (exists.rows[0]?.table == null) return 0;
  const result = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM public.__drizzle_migrations");
  return result.rows[0]?.n ?? 0;
}

/** Host, port and database of a connection string, for /health and logs: never the user's password. */
export function describeConnection(connectionString: string): { host: string; port: number; database: string; user: string } {
  const url = new URL(connectionString);
  const host = url.searchParams.get("host") ?? (decodeURIComponent(url.hostname) || "localhost");
  return {
    host,
    port: Number(url.port || 5432),
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username),
    user: decodeURIComponent(url.username),
  };
}

/**
 * Boot on PostgreSQL: points the table stand-ins at the pg flavour, opens the pool, migrates under
 * the lock, and installs the pool as the process-wide database. Errors name the host and database,
 * never the connection string (it holds the password).
 */
export async function openPostgresAppDatabase(connectionString: string, settings: PoolSettings): Promise<PostgresMigrationReport> {
  if (connectionString.trim() === "") {
    throw new AppError(
      "config_invalid",
      "persistence.backend is postgres but no connection string is set: set MIMIR_CONNECTION_STRING (or persistence.connection_string), e.g. postgres://user:password@host:5432/database",
    );
  }
  let location: ReturnType<typeof describeConnection>;
  try {
    location = describeConnection(connectionString);
  } catch {
    throw new AppError("config_invalid", "persistence.connection_string is not a postgres:// URL (its value is a secret and is not shown)");
  }
  const pool = installPostgresAppDatabase(connectionString, settings, location);
  try {
    return await migratePostgres(pool);
  } catch (error) {
    await closeAppDatabase().catch(() => {});
    throw new Error(`PostgreSQL at ${location.host}:${location.port}/${location.database}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Points the table stand-ins at the pg flavour and installs a new pool on `connectionString` as the
 * process-wide database, without touching the server yet (a pool connects on first use): boot
 * migrates next; tests use a database cloned from a migrated template.
 */
export function installPostgresAppDatabase(connectionString: string, settings: PoolSettings, location = describeConnection(connectionString)): pg.Pool {
  bindSchemaBackend("postgres");
  const pool = openPostgresPool(connectionString, settings);
  setAppPostgresDatabase(postgresDrizzle(pool), { backend: "postgres", host: location.host, port: location.port, database: location.database }, () =>
    pool.end(),
  );
  return pool;
}
