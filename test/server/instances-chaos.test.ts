import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startServer, type RunningServer } from "@/test/helpers/server";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";
import { bearerApi, descendantsOf, isAncestorOf, killTree, untilWith, type Json } from "@/test/helpers/instances";

/**
 * Several instances on one PostgreSQL, against the production build (`next build` first): three
 * `next start` processes on their own ports share one database made for the test and one data root.
 * A per-second job and a per-minute job run while one instance is SIGKILLed in the middle of the
 * per-minute run and started again, and another is SIGSTOPped past its lease and resumed. Then, from
 * the database: every slot of either job was claimed exactly once (job_fires' key makes a second claim
 * impossible; the test counts gaps and duplicate runs), the killed run is recorded failed naming its
 * instance, and no completion landed twice. Finally two POST /api/v1/backups to two instances at once:
 * one 202, one 409 naming the running backup. The instances' clocks disagree by up to 0.9 s
 * (MIMIR_TEST_CLOCK_SKEW_MS, the one test seam: fires go off late). Prints its counts.
 */
const TOKEN = "mimir_chaos0000000000000000000000000000000000000";
/** Short, so that a dead instance is found within seconds: heartbeats every second, dead after 3 s of silence. */
const LEASE_SECONDS = 3;
/** The per-minute job's run lasts this long, so the kill lands in the middle of it. */
const MINUTE_RUN_SECONDS = 8;

let home: string;
let scratch: ScratchDatabase;
let db: pg.Pool;
const servers: (RunningServer | null)[] = [null, null, null];

/** Instance i's clock runs this far behind (its fires go off late): the claim, not the clock, decides who runs a slot. */
const CLOCK_SKEW_MS = [0, 400, 900];

function env(instance: number): Record<string, string> {
  return {
    MIMIR_TEST_CLOCK_SKEW_MS: String(CLOCK_SKEW_MS[instance]),
    MIMIR_HOME: home,
    MIMIR_API_TOKEN: TOKEN,
    MIMIR_PERSISTENCE_BACKEND: "postgres",
    MIMIR_CONNECTION_STRING: scratch.url,
    MIMIR_SCHEDULER_MIN_INTERVAL_SECONDS: "1",
    MIMIR_INSTANCE_LEASE_SECONDS: String(LEASE_SECONDS),
    MIMIR_LOG_LEVEL: "warn",
  };
}

const api = (server: RunningServer, method: string, route: string, body?: unknown, yaml = false) => bearerApi(server.url, TOKEN, method, route, body, yaml);
const until = <T>(what: string, read: () => Promise<T | null | undefined | false>, timeoutMs = 90_000) =>
  untilWith(what, read, timeoutMs, () => servers.map((server) => server?.output() ?? ""));

async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(text, values)).rows;
}

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-chaos-"));
  scratch = await createScratchDatabase({ label: "chaos", migrate: false });
  db = new pg.Pool({ connectionString: scratch.url, max: 2 });
  fs.mkdirSync(path.join(home, "plugins"), { recursive: true });
  fs.writeFileSync(path.join(home, "plugins", "Chaos.tick"), "#!/bin/sh\ncat >/dev/null; sleep 0.2; echo '{}'\n", { mode: 0o700 });
  fs.writeFileSync(path.join(home, "plugins", "Chaos.minute"), `#!/bin/sh\ncat >/dev/null; sleep ${MINUTE_RUN_SECONDS}; echo '{}'\n`, { mode: 0o700 });
  // One at a time: the first migrates the new database; the others find it migrated.
  for (let i = 0; i < servers.length; i += 1) servers[i] = await startServer(env(i));
}, 180_000);

afterAll(async () => {
  for (const server of servers) {
    if (!server) continue;
    server.process.kill("SIGCONT");
    await server.stop();
  }
  await db?.end();
  await scratch?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

test("three instances: every slot runs once through kill -9 and SIGSTOP; one backup of two asked at once", async () => {
  const [a, b] = servers as RunningServer[];
  expect((await api(a!, "GET", "/api/v1/instances")).json.items.filter((instance: Json) => instance.stopped_at === null)).toHaveLength(3);

  // Created on one instance only: the others follow the jobs table within seconds, without a restart.
  for (const [name, plugin] of [
    ["tick", "Chaos.tick"],
    ["minute", "Chaos.minute"],
  ]) {
    expect((await api(a!, "POST", "/api/v1/pipelines", `name: ${name}\nsteps:\n  - {name: one, plugin: ${plugin}}\n`, true)).status).toBe(201);
  }
  expect((await api(b!, "POST", "/api/v1/scheduler/jobs", { id: "tick", name: "tick", pipeline: "tick", cron_expr: "* * * * * *" })).status).toBeLessThan(300);
  expect((await api(b!, "POST", "/api/v1/scheduler/jobs", { id: "minute", name: "minute", pipeline: "minute", cron_expr: "0 * * * * *" })).status).toBeLessThan(
    300,
  );
  // The instance whose clock is not behind claims most slots; the others claim what it misses.
  await until("runs of the per-second job", async () => {
    const rows = await query("SELECT 1 FROM job_executions WHERE job_id = 'tick'");
    return rows.length >= 3;
  });

  // kill -9 the instance running the per-minute job, in the middle of its run, then start it again.
  const running = await until(
    "the per-minute run",
    async () =>
      (await query<{ id: string; owner: string }>("SELECT id, owner_instance AS owner FROM job_executions WHERE job_id = 'minute' AND status = 'running'"))[0],
  );
  const pids = await query<{ id: string; pid: number }>("SELECT id, pid FROM instances WHERE stopped_at IS NULL");
  const victimPid = pids.find((row) => row.id === running.owner)!.pid;
  const victim = servers.findIndex((server) => server?.process.pid !== undefined && isAncestorOf(server.process.pid, victimPid));
  expect(victim).toBeGreaterThanOrEqual(0);
  killTree(servers[victim]!.process.pid!, "SIGKILL");
  const failed = await until(
    "the killed run to be failed by a survivor",
    async () =>
      (await query<{ status: string; error: string }>("SELECT status, error FROM job_executions WHERE id = $1 AND status <> 'running'", [running.id]))[0],
    4 * LEASE_SECONDS * 1000,
  );
  expect(failed.status).toBe("failed");
  expect(failed.error).toMatch(/^Interrupted: instance .* stopped answering/);
  servers[victim] = await startServer(env(victim));

  // SIGSTOP another instance past its lease, then let it go on: its late writes are refused, it rejoins.
  const paused = servers.findIndex((_, i) => i !== victim);
  const pausedPid = servers[paused]!.process.pid!;
  killTree(pausedPid, "SIGSTOP");
  await until("the paused instance to be declared stopped", async () => {
    const rows = await query("SELECT 1 FROM instances WHERE pid = ANY($1) AND stop_reason LIKE '%stopped answering%'", [descendantsOf(pausedPid)]);
    return rows.length > 0;
  });
  killTree(pausedPid, "SIGCONT");
  await until("the paused instance to rejoin", async () => {
    const rows = await query("SELECT 1 FROM instances WHERE pid = ANY($1) AND stopped_at IS NULL", [descendantsOf(pausedPid)]);
    return rows.length > 0;
  });
  // A few more seconds of the per-second job with all three back.
  const after = Date.now();
  await until("five more per-second slots", async () => {
    const rows = await query("SELECT 1 FROM job_fires WHERE job_id = 'tick' AND claimed_at > $1", [new Date(after).toISOString()]);
    return rows.length >= 5;
  });

  // Two backups asked of two instances at the same moment: one is admitted, the other names it.
  const live = servers.filter((server): server is RunningServer => server !== null);
  const answers = await Promise.all([api(live[0]!, "POST", "/api/v1/backups", {}), api(live[1]!, "POST", "/api/v1/backups", {})]);
  const statuses = answers.map((answer) => answer.status).sort();
  expect(statuses).toEqual([202, 409]);
  const refused = answers.find((answer) => answer.status === 409)!.json;
  expect(refused.error.code).toBe("operation_running");
  expect(refused.error.message).toMatch(/backup is already running on instance/);

  // Stop everything, then count from the database.
  for (let i = 0; i < servers.length; i += 1) {
    await servers[i]!.stop();
    servers[i] = null;
  }
  const counts: Record<string, unknown> = {};
  for (const job of ["tick", "minute"]) {
    const slots = await query<{ slot: Date; execution_id: string }>(
      "SELECT scheduled_for AS slot, execution_id FROM job_fires WHERE job_id = $1 ORDER BY scheduled_for",
      [job],
    );
    const step = job === "tick" ? 1000 : 60_000;
    let gaps = 0;
    for (let i = 1; i < slots.length; i += 1) gaps += Math.round((slots[i]!.slot.getTime() - slots[i - 1]!.slot.getTime()) / step) - 1;
    const runs = await query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM job_executions WHERE job_id = $1 AND triggered_by = 'scheduler' GROUP BY status",
      [job],
    );
    const [dup] = await query<{ n: number }>(
      "SELECT count(*)::int AS n FROM (SELECT execution_id FROM job_fires WHERE job_id = $1 GROUP BY execution_id HAVING count(*) > 1) AS twice",
      [job],
    );
    const [unmatched] = await query<{ n: number }>(
      "SELECT count(*)::int AS n FROM job_fires f WHERE f.job_id = $1 AND NOT EXISTS (SELECT 1 FROM job_executions e WHERE e.id = f.execution_id)",
      [job],
    );
    const byStatus = Object.fromEntries(runs.map((row) => [row.status, row.n]));
    const executions = runs.reduce((sum, row) => sum + row.n, 0);
    counts[job] = { slots: slots.length, executions, duplicates: dup!.n, gaps, claims_without_run: unmatched!.n, ...byStatus };
    expect(dup!.n).toBe(0);
    expect(gaps).toBe(0);
    // One execution per claimed slot: the claim and its run are inserted in one transaction, so not even the kill leaves one alone.
    expect(unmatched!.n).toBe(0);
    expect(executions).toBe(slots.length);
  }
  const backups = await query<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE kind = 'backup'");
  counts.backups = backups[0]!.n;
  expect(backups[0]!.n).toBe(1);
  console.log(`instances chaos counts: ${JSON.stringify(counts)}`);
}, 240_000);
