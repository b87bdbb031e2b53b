import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { eq } from "drizzle-orm";
import pg from "pg";
import { describeConnection, migratePostgres, onEachIdleConnection, openIdleConnections, openPostgresPool, postgresDrizzle } from "@/lib/db/postgres";
import { pgTimestampToIso } from "@/lib/db/schema/pg/columns";
import * as schema from "@/lib/db/schema/pg";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";
import journal from "@/drizzle/pg/meta/_journal.json";

/** Every migration of the PostgreSQL folder: the count grows with each schema change. */
const MIGRATIONS = journal.entries.length;

describe("migrations on PostgreSQL", () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase({ label: "migrate", migrate: false });
  });
  afterAll(() => scratch.drop());

  it("run once when several processes boot together (advisory lock), and not again on the next boot", async () => {
    // Separate pools are separate sessions, as separate processes are; without the lock, the losers fail on "already exists".
    const pools = Array.from({ length: 4 }, () => openPostgresPool(scratch.url));
    const [first, second] = pools as [pg.Pool, pg.Pool];
    try {
      const reports = await Promise.all(pools.map((pool) => migratePostgres(pool)));
      expect(reports.map((r) => r.appliedMigrations).sort()).toEqual([0, 0, 0, MIGRATIONS]);
      expect(new Set(reports.map((r) => r.schemaVersion))).toEqual(new Set([String(MIGRATIONS)]));
      const again = await migratePostgres(first);
      expect(again).toEqual({ appliedMigrations: 0, schemaVersion: String(MIGRATIONS) });
      const meta = await first.query("SELECT key, value FROM system_metadata ORDER BY key");
      expect(meta.rows.map((r) => r.key)).toEqual(["created_at", "instance_id", "schema_version"]);
      const journal = await first.query("SELECT count(*)::int AS n FROM public.__drizzle_migrations");
      expect(journal.rows[0].n).toBe(MIGRATIONS);
      // the lock is released: another session takes it at once
      const free = await second.query("SELECT pg_try_advisory_lock(1296649554, 1) AS ok");
      expect(free.rows[0].ok).toBe(true);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });
});

describe("the PostgreSQL schema hands the app what SQLite does", () => {
  let scratch: ScratchDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    scratch = await createScratchDatabase({ label: "types" });
    pool = openPostgresPool(scratch.url);
  });
  afterAll(async () => {
    await pool.end();
    await scratch.drop();
  });

  it("ISO-8601 strings, booleans and numbers past 2^31, in and out", async () => {
    const db = postgresDrizzle(pool);
    const job = {
      id: "j1",
      name: "Nightly",
      pipeline: "p",
      cronExpr: "0 2 * * *",
      enabled: false,
      nextRun: "2025-01-15T02:00:00.123Z",
      createdAt: "2025-01-15T01:00:00.000Z",
      updatedAt: "2025-01-15T01:00:00.000Z",
    };
    await db.insert(schema.scheduledJobs).values(job);
    await db.insert(schema.jobExecutions).values({
      id: "e1",
      jobId: "j1",
      pipeline: "p",
      startTime: "2025-01-15T02:00:00.001Z",
      duration: 5_000_000_000_123,
      status: "success",
      triggeredBy: "scheduler",
    });
    const [row] = await db.select().from(schema.scheduledJobs).where(eq(schema.scheduledJobs.id, "j1"));
    expect(row).toEqual({ ...job, lastRun: null, lastResult: null, owner: null, ownerScope: null });
    const [run] = await db.select().from(schema.jobExecutions);
    expect(run?.startTime).toBe("2025-01-15T02:00:00.001Z");
    expect(run?.duration).toBe(5_000_000_000_123);
    const [sample] = await db
      .insert(schema.storageSamples)
      .values({ takenAt: "2025-01-15T02:00:00.000Z", volume: "mimir_data", bytes: 3 * 2 ** 31, files: 2 })
      .returning();
    expect(sample).toMatchObject({ id: 1, bytes: 3 * 2 ** 31 });
    // a session in another time zone reads the same instant
    const client = await pool.connect();
    try {
      await client.query("SET TIME ZONE 'Asia/Kolkata'");
      const text = await client.query("SELECT next_run::text AS t FROM scheduled_jobs");
      expect(pgTimestampToIso(text.rows[0].t)).toBe("2025-01-15T02:00:00.123Z");
    } finally {
      await client.query("RESET TIME ZONE");
      client.release();
    }
  });

  it("cascades deletes and enforces the unique indexes like SQLite", async () => {
    const db = postgresDrizzle(pool);
    await db.delete(schema.scheduledJobs).where(eq(schema.scheduledJobs.id, "j1"));
    expect(await db.select().from(schema.jobExecutions)).toEqual([]);
    const user = {
      id: "u1",
      username: "alice",
      passwordHash: "x",
      role: "admin",
      createdAt: "2025-01-01T00:00:00.000Z",
      updatedAt: "2025-01-01T00:00:00.000Z",
    };
    await db.insert(schema.users).values(user);
    await expect(db.insert(schema.users).values({ ...user, id: "u2" })).rejects.toMatchObject({ cause: expect.objectContaining({ code: "23505" }) });
  });
});

describe("onEachIdleConnection", () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase({ label: "each-connection", migrate: false });
  });
  afterAll(() => scratch.drop());

  it("runs the work once on each idle connection, every statement of a run on its own; later statements go to the pool", async () => {
    const pool = openPostgresPool(scratch.url, { max_open: 10, max_idle: 3, max_lifetime_seconds: 0, connect_timeout_seconds: 10 });
    try {
      await openIdleConnections(pool, 3);
      const idle = await Promise.all(Array.from({ length: 3 }, () => pool.connect()));
      const idlePids = idle.map((client) => (client as unknown as { processID: number }).processID).sort();
      for (const client of idle) client.release();
      const backend = async () => (await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const runs: number[][] = [];
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on("warning", onWarning);
      onTestFinished(() => void process.off("warning", onWarning));
      const leftBehind: Promise<number>[] = [];
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // Called from another bundle's copy of the module, as the /metrics route calls it on the pool boot opened.
      vi.resetModules();
      const anotherBundle = (await import("@/lib/db/postgres")) as typeof import("@/lib/db/postgres");
      expect(anotherBundle.onEachIdleConnection).not.toBe(onEachIdleConnection);
      await anotherBundle.onEachIdleConnection(pool, async () => {
        // Statements at once within one run queue on its connection.
        runs.push(await Promise.all([backend(), backend(), backend()]));
        // A callback the work leaves behind, which runs once its connection has been given back.
        leftBehind.push(released.then(backend));
      });
      expect(runs.map((pids) => new Set(pids).size)).toEqual([1, 1, 1]);
      // One at a time on a connection: node-postgres's own queueing of a statement sent while another runs is deprecated.
      expect(warnings).toEqual([]);
      expect(runs.map((pids) => pids[0]!).sort()).toEqual(idlePids);
      // Checked out by a test while the left-behind statements run: were they sent to a connection given
      // back, they would share a backend with another holder instead of getting a connection of their own.
      const holders = await Promise.all(Array.from({ length: 3 }, () => pool.connect()));
      try {
        release();
        const pids = await Promise.all(leftBehind);
        const held = new Set(holders.map((client) => (client as unknown as { processID: number }).processID));
        expect(pids.filter((pid) => held.has(pid))).toEqual([]);
      } finally {
        for (const client of holders) client.release();
      }
    } finally {
      await pool.end();
    }
  });
});

describe("helpers", () => {
  it("turns any timestamptz text into the app's ISO form", () => {
    expect(pgTimestampToIso("2025-01-15 02:00:00+00")).toBe("2025-01-15T02:00:00.000Z");
    expect(pgTimestampToIso("2025-01-15 02:00:00.5+00")).toBe("2025-01-15T02:00:00.500Z");
    expect(pgTimestampToIso("0999-12-31 23:59:59.999+00")).toBe(new Date("0999-12-31T23:59:59.999Z").toISOString());
    expect(pgTimestampToIso("2025-01-15 02:00:00.123456+00")).toBe("2025-01-15T02:00:00.123Z");
    expect(pgTimestampToIso("2025-01-15 07:30:00.123+05:30")).toBe("2025-01-15T02:00:00.123Z");
    expect(pgTimestampToIso("2025-01-14 21:00:00.123-05")).toBe("2025-01-15T02:00:00.123Z");
    expect(pgTimestampToIso(new Date("2025-01-15T02:00:00.123Z"))).toBe("2025-01-15T02:00:00.123Z");
  });

  it("describes a connection without its password", () => {
    const facts = describeConnection("postgres://mimir:s3cret%21@db.example:6543/mimir_prod?sslmode=require");
    expect(facts).toEqual({ host: "db.example", port: 6543, database: "mimir_prod", user: "mimir" });
    expect(JSON.stringify(facts)).not.toContain("s3cret");
  });
});
