import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { seedDemoData } from "@/lib/demo/seed";
import { createUser, signIn } from "@/lib/auth/service";
import { createApiToken } from "@/lib/auth/tokens";
import { listAuditLog } from "@/lib/audit/service";
import { analyzeStatistics } from "@/lib/maintenance/service";
import { CREDENTIAL_TABLES } from "@/lib/maintenance/credentials";
import { runReadOnlyQuery } from "@/lib/maintenance/query";
import type { Principal } from "@/lib/auth/scopes";

/**
 * The console never returns credentials: a statement that reads users, sessions or api_tokens (or
 * sqlite_stat4, which copies their index keys) is refused before it runs, however it is written.
 * Real SQLite file, real child process: the check is SQLite's own compiled program.
 */

let root: TestDataRoot;
const admin: Principal = { kind: "token", id: "t", name: "test", scope: "admin" };
let secrets: { passwordHash: string; sessionIdHash: string; tokenHash: string };

beforeAll(async () => {
  root = createTestDataRoot();
  await seedDemoData(root.config, { executions: 200, days: 10, logFiles: 0, seed: 5 });
  await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
  await signIn("alice", "alice-password-1", { ip: "192.0.2.1", userAgent: "vitest" });
  await createApiToken({ name: "ci", scope: "read" }, admin);
  const client = getDb().$client;
  // Views made by someone with write access (the console cannot create them): one over users, one not.
  client.exec("CREATE VIEW people AS SELECT u.username AS who, u.password_hash AS secret FROM users u");
  client.exec("CREATE VIEW job_names AS SELECT id, name FROM scheduled_jobs");
  // Fills sqlite_stat4 with samples of every index, the credential tables' included.
  await analyzeStatistics();
  secrets = {
    passwordHash: client.prepare("SELECT password_hash FROM users").pluck().get() as string,
    sessionIdHash: client.prepare("SELECT id_hash FROM sessions").pluck().get() as string,
    tokenHash: client.prepare("SELECT token_hash FROM api_tokens").pluck().get() as string,
  };
});
afterAll(() => root.cleanup());

async function consoleAuditRows(): Promise<number> {
  const { items } = await listAuditLog({ limit: 200 });
  return items.filter((entry) => entry.action === "database.query").length;
}

describe("the console refuses statements that read credentials", () => {
  test("the fixture holds the secrets the console must not show, and ANALYZE sampled them", () => {
    expect(secrets.passwordHash).toMatch(/^scrypt/);
    const samples = getDb().$client.prepare("SELECT count(*) FROM sqlite_stat4 WHERE tbl IN ('users', 'sessions', 'api_tokens')").pluck().get();
    expect(samples).toBeGreaterThan(0);
  });

  test.each([
    ["SELECT * FROM users", ["users"]],
    ["select substr(password_hash, 1, 5) from users", ["users"]],
    ['SELECT "password_hash" FROM "main"."users" AS "u"', ["users"]],
    ["SELECT /* users? no */ x.token_hash FROM api_tokens x -- trailing", ["api_tokens"]],
    ["SELECT username FROM users ORDER BY username", ["users"]],
    ["SELECT count(*) FROM sessions", ["sessions"]],
    ["SELECT * FROM users WHERE 0", ["users"]],
    ["SELECT id FROM job_executions WHERE EXISTS (SELECT 1 FROM users WHERE password_hash LIKE 'scrypt%')", ["users"]],
    ["SELECT (SELECT id_hash FROM sessions LIMIT 1) AS s", ["sessions"]],
    ["SELECT * FROM (SELECT token_hash FROM api_tokens)", ["api_tokens"]],
    ["SELECT j.id, s.id_hash FROM job_executions j JOIN sessions s ON 1 LIMIT 1", ["sessions"]],
    ["SELECT u.username, s.id_hash FROM users u JOIN sessions s ON s.user_id = u.id", ["sessions", "users"]],
    ["WITH t AS (SELECT token_hash FROM api_tokens) SELECT * FROM t", ["api_tokens"]],
    ["WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x, username FROM c, users", ["users"]],
    ["SELECT name FROM scheduled_jobs UNION ALL SELECT password_hash FROM users", ["users"]],
    ["SELECT * FROM people", ["users"]],
    ["SELECT who FROM people", ["users"]],
    ["SELECT * FROM sqlite_stat4", ["sqlite_stat4"]],
    ["SELECT tbl, sample FROM sqlite_stat4 WHERE tbl = 'scheduled_jobs'", ["sqlite_stat4"]],
  ])("%s is refused, naming %j", async (sql, tables) => {
    const audited = await consoleAuditRows();
    const refusal = await runReadOnlyQuery({ sql }, admin).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toMatchObject({ code: "forbidden", status: 403 });
    const message = (refusal as Error).message;
    for (const table of tables) expect(message).toContain(`'${table}'`);
    for (const table of [...CREDENTIAL_TABLES, "sqlite_stat4"].filter((t) => !tables.includes(t))) expect(message).not.toContain(`'${table}'`);
    for (const secret of Object.values(secrets)) expect(message).not.toContain(secret);
    expect(await consoleAuditRows()).toBe(audited);
  });

  test("the refusal says what and why, in one sentence per kind", async () => {
    await expect(runReadOnlyQuery({ sql: "SELECT * FROM users" }, admin)).rejects.toThrow(
      "'users' holds credentials (password or token hashes, session ids, sealed channel and offsite destination secrets) and the console does not read it, not through a view, join or subquery either; pragma_table_info('users') shows the columns",
    );
    await expect(runReadOnlyQuery({ sql: "SELECT * FROM api_tokens, sessions" }, admin)).rejects.toThrow(
      "'api_tokens' and 'sessions' hold credentials (password or token hashes, session ids, sealed channel and offsite destination secrets) and the console does not read them",
    );
    await expect(runReadOnlyQuery({ sql: "SELECT * FROM sqlite_stat4" }, admin)).rejects.toThrow(
      "'sqlite_stat4' holds ANALYZE's sampled index keys, copies of credentials among them, and the console does not read it",
    );
  });

  test("the refusal comes before the statement runs", async () => {
    // Run, this would never end and be stopped at the 5 s limit: query_timeout, not forbidden.
    await expect(
      runReadOnlyQuery({ sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c, users" }, admin),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  test("this SQLite build has no virtual table that hands out raw pages", async () => {
    // The child and this process load the same better-sqlite3 build. Were sqlite_dbpage compiled in,
    // the console would refuse every virtual table (its program does not say which one it opens).
    const modules = getDb().$client.prepare("SELECT name FROM pragma_module_list").pluck().all();
    expect(modules).toContain("dbstat");
    expect(modules).not.toContain("sqlite_dbpage");
    await expect(runReadOnlyQuery({ sql: "SELECT * FROM sqlite_dbpage" }, admin)).rejects.toMatchObject({ code: "invalid_sql" });
  });
});

describe("the console still reads everything else", () => {
  test.each([
    ["SELECT 1 AS one", ["one"]],
    ["SELECT j.id, s.name FROM job_executions j JOIN scheduled_jobs s ON s.id = j.job_id ORDER BY j.start_time LIMIT 5", ["id", "name"]],
    [
      "WITH recent AS (SELECT job_id, count(*) AS n FROM job_executions GROUP BY job_id) SELECT s.name, r.n FROM recent r JOIN scheduled_jobs s ON s.id = r.job_id",
      ["name", "n"],
    ],
    ["SELECT * FROM job_names", ["id", "name"]],
    ["SELECT name FROM pragma_table_info('users')", ["name"]],
    ["PRAGMA table_info(sessions)", ["cid", "name", "type", "notnull", "dflt_value", "pk"]],
    ["SELECT name, tbl_name FROM sqlite_schema WHERE tbl_name = 'users'", ["name", "tbl_name"]],
    ["SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = 'users'", ["tbl", "idx", "stat"]],
    ["SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name = 'users' GROUP BY name", ["name", "bytes"]],
    ["SELECT count(*) AS n FROM temp.sqlite_schema", ["n"]],
    // An EXPLAIN lists a program or a plan: it names tables but reads none of their rows.
    ["EXPLAIN QUERY PLAN SELECT * FROM users", ["id", "parent", "notused", "detail"]],
    ["EXPLAIN SELECT password_hash FROM users", ["addr", "opcode", "p1", "p2", "p3", "p4", "p5", "comment"]],
  ])("%s runs", async (sql, columns) => {
    const result = await runReadOnlyQuery({ sql }, admin);
    expect(result.columns).toEqual(columns);
    expect(result.rows.length).toBeGreaterThan(0);
    const text = JSON.stringify(result.rows);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
  });

  test("pragma_table_info lists the columns of users, not their values", async () => {
    const result = await runReadOnlyQuery({ sql: "SELECT name FROM pragma_table_info('users') ORDER BY cid" }, admin);
    expect(result.rows.map((row) => row[0])).toEqual(["id", "username", "password_hash", "role", "created_at", "updated_at", "disabled_at"]);
  });
});
