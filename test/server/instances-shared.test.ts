import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callAction, serverActions } from "@/test/helpers/console-server";
import { startServer, type RunningServer } from "@/test/helpers/server";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";
import { bearerApi, killTree, untilWith } from "@/test/helpers/instances";

/**
 * What several instances must share, against the production build (`next build` first): two `next
 * start` processes on their own ports share one PostgreSQL database made for the test and one data
 * root, as two replicas behind a load balancer do. Requests alternate between them, as a balancer
 * may send them.
 */
const TOKEN = `mimir_${"s".repeat(43)}`;
const ADMIN_PASSWORD = "shared-instances-admin-password";
let home: string;
let scratch: ScratchDatabase;
const servers: RunningServer[] = [];
let db: pg.Pool;
/** Short, so that a killed instance's restore is failed by the other within seconds. */
const LEASE_SECONDS = 3;

function env(): Record<string, string> {
  return {
    MIMIR_HOME: home,
    MIMIR_API_TOKEN: TOKEN,
    MIMIR_ADMIN_PASSWORD: ADMIN_PASSWORD,
    MIMIR_PERSISTENCE_BACKEND: "postgres",
    MIMIR_CONNECTION_STRING: scratch.url,
    // The balancer's address is every request's peer: the client is the X-Forwarded-For it appends.
    MIMIR_TRUST_PROXY: "true",
    MIMIR_SCHEDULER_MIN_INTERVAL_SECONDS: "1",
    MIMIR_INSTANCE_LEASE_SECONDS: String(LEASE_SECONDS),
    // A restore waits after its extraction until it is cancelled (or its instance dies): the moment to look at the others.
    MIMIR_HOLD_POINT: "restore.after_extract",
    MIMIR_LOG_LEVEL: "warn",
  };
}

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-shared-"));
  scratch = await createScratchDatabase({ label: "shared", migrate: false });
  db = new pg.Pool({ connectionString: scratch.url, max: 2 });
  fs.mkdirSync(path.join(home, "plugins"), { recursive: true });
  fs.writeFileSync(path.join(home, "plugins", "Shared.tick"), "#!/bin/sh\ncat >/dev/null; echo '{}'\n", { mode: 0o700 });
  // One at a time: the first migrates the new database; the second finds it migrated.
  for (let i = 0; i < 2; i += 1) servers.push(await startServer(env()));
}, 180_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await db?.end();
  await scratch?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

async function signIn(instance: number, username: string, password: string, client: string): Promise<string | "ok"> {
  const action = serverActions().find((a) => a.filename === "app/login/actions.ts" && a.exportedName === "signInAction")!;
  const { result } = await callAction(servers[instance]!.url, "/login", action.id, { username, password }, { "X-Forwarded-For": client });
  if (!result) throw new Error("the sign-in action gave no result");
  return result.ok ? "ok" : result.error!.code;
}

test("sign-in throttling counts every instance's failures: a client's 11th wrong password is refused on either", async () => {
  const client = "203.0.113.10";
  // Ten wrong passwords, alternating instances, each at a name that is no account (no account delay involved).
  for (let i = 0; i < 10; i += 1) expect(await signIn(i % 2, `nobody-${i}`, "wrong-password", client)).toBe("unauthorized");
  // Each instance saw five: counted apart they would let this one through; counted together it is the 11th.
  expect(await signIn(0, "nobody-10", "wrong-password", client)).toBe("rate_limited");
  expect(await signIn(1, "admin", ADMIN_PASSWORD, client)).toBe("rate_limited");
  // Another client is not held back by it.
  expect(await signIn(1, "admin", ADMIN_PASSWORD, "203.0.113.11")).toBe("ok");
}, 120_000);

test("an account's delay counts failures sent to every instance: a client that failed there waits on the other", async () => {
  // Six strangers (the free failures and one: a 2 s delay) on the two instances, then one of them tries the other instance.
  for (let i = 0; i < 6; i += 1) expect(await signIn(i % 2, "admin", `guess-${i}`, `198.51.100.${i}`)).toBe("unauthorized");
  expect(await signIn(0, "admin", ADMIN_PASSWORD, "198.51.100.1")).toBe("rate_limited");
  // The account is not locked: a client that has not failed on it signs in at once, on either instance.
  expect(await signIn(0, "admin", ADMIN_PASSWORD, "198.51.100.50")).toBe("ok");
  expect(await signIn(1, "admin", ADMIN_PASSWORD, "198.51.100.51")).toBe("ok");
}, 120_000);

test("a browser session made on one instance works on the other, and signing out on either ends it on both", async () => {
  const actions = serverActions().filter((a) => a.filename === "app/login/actions.ts");
  const signInId = actions.find((a) => a.exportedName === "signInAction")!.id;
  const signOutId = actions.find((a) => a.exportedName === "signOutAction")!.id;
  const signedIn = await callAction(servers[0]!.url, "/login", signInId, { username: "admin", password: ADMIN_PASSWORD }, { "X-Forwarded-For": "192.0.2.70" });
  expect(signedIn.result?.ok).toBe(true);
  const cookie = signedIn.setCookie.map((line) => line.split(";")[0]).join("; ");
  const page = (instance: number) => fetch(`${servers[instance]!.url}/jobs`, { headers: { Cookie: cookie }, redirect: "manual" });
  // A balancer may send each request to either instance: the session is a row both read.
  for (const instance of [1, 0, 1]) expect((await page(instance)).status).toBe(200);
  const signedOut = await callAction(servers[1]!.url, "/jobs", signOutId, {}, { Cookie: cookie, "X-Forwarded-For": "192.0.2.70" });
  expect(signedOut.result?.ok).toBe(true);
  for (const instance of [0, 1]) {
    const response = await page(instance);
    expect(response.status).toBeGreaterThanOrEqual(300);
    expect(response.headers.get("location") ?? "").toContain("/login");
  }
}, 60_000);

const api = (instance: number, method: string, route: string, body?: unknown, yaml = false) =>
  bearerApi(servers[instance]!.url, TOKEN, method, `/api/v1${route}`, body, yaml);
const until = <T>(what: string, read: () => Promise<T | null | undefined | false>, timeoutMs = 60_000) =>
  untilWith(what, read, timeoutMs, () => servers.map((server) => server.output()));

const operationStatus = async (id: string) => (await db.query<{ status: string }>("SELECT status FROM operations WHERE id = $1", [id])).rows[0]?.status;
const ticksSince = async (since: Date) =>
  (await db.query("SELECT 1 FROM job_executions WHERE job_id = 'tick' AND start_time > $1", [since.toISOString()])).rows.length;

/** Starts a restore on instance 0 and returns its operation id once it holds after extraction. */
async function holdRestore(backupId: string): Promise<string> {
  const started = await api(0, "POST", `/backups/${backupId}/restore`, { confirm: backupId });
  expect(started.status).toBe(202);
  const before = servers[0]!.output().split("holding at a test hold point").length;
  await until("the restore to hold after extraction", async () => servers[0]!.output().split("holding at a test hold point").length > before);
  return started.json.id as string;
}

test("a restore on one instance pauses the other's jobs (Run now: 409 naming it); they resume when it ends, and when its instance dies", async () => {
  expect((await api(0, "POST", "/pipelines", "name: tick\nsteps:\n  - {name: one, plugin: Shared.tick}\n", true)).status).toBe(201);
  expect((await api(1, "POST", "/scheduler/jobs", { id: "tick", name: "tick", pipeline: "tick", cron_expr: "* * * * * *" })).status).toBeLessThan(300);
  const began = new Date();
  await until("runs of the per-second job", async () => (await ticksSince(began)) >= 2);
  const backup = await api(0, "POST", "/backups", {});
  expect(backup.status).toBe(202);
  await until("the backup", async () => (await operationStatus(backup.json.id)) === "succeeded");
  const backupId = (await api(1, "GET", `/operations/${backup.json.id}`)).json.result.backup_id as string;

  const restoreId = await holdRestore(backupId);
  const refused = await api(1, "POST", "/scheduler/jobs/tick/run");
  expect(refused.status).toBe(409);
  expect(refused.json.error).toMatchObject({ code: "operation_running", details: { operation_id: restoreId } });
  expect(refused.json.error.message).toMatch(/^A restore is running on instance \w+: jobs do not run on any instance until it has finished/);
  // Three seconds of the per-second job's slots on both instances, none run (a run admitted just before the restore may still start).
  const held = new Date(Date.now() + 1000);
  await until("three seconds of held slots", async () => Date.now() > held.getTime() + 3000, 10_000);
  expect(await ticksSince(held)).toBe(0);

  // Cancelled from the other instance: the restore ends, and the jobs run again everywhere.
  expect((await api(1, "POST", `/operations/${restoreId}/cancel`)).status).toBeLessThan(300);
  await until("the restore to end cancelled", async () => (await operationStatus(restoreId)) === "cancelled");
  const resumed = new Date();
  expect((await api(1, "POST", "/scheduler/jobs/tick/run")).status).toBeLessThan(300);
  await until("the per-second job to run again", async () => (await ticksSince(resumed)) >= 3);

  // Held again, then its instance is killed: the other fails the restore when the lease passes, and the pause goes with it.
  const second = await holdRestore(backupId);
  expect((await api(1, "POST", "/scheduler/jobs/tick/run")).status).toBe(409);
  killTree(servers[0]!.process.pid!, "SIGKILL");
  await until("the killed instance's restore to be failed by the other", async () => (await operationStatus(second)) === "failed", 4 * LEASE_SECONDS * 1000);
  const afterDeath = new Date();
  expect((await api(1, "POST", "/scheduler/jobs/tick/run")).status).toBeLessThan(300);
  await until("the per-second job to run on the survivor", async () => (await ticksSince(afterDeath)) >= 2);
}, 180_000);
