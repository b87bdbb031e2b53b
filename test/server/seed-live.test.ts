import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ROOT_DIR, startBuiltServer, type ConsoleServer } from "@/test/helpers/console-server";

/**
 * B2, must-fix 4: `npm run seed` beside a running server (the production build, `next build` first)
 * gives a living demo: the server schedules the seeded jobs without a restart, a seeded job's run
 * succeeds (its plugins are installed), and the Storage charts have days of history.
 */
const TOKEN = `mimir_${"s".repeat(43)}`;
let server: ConsoleServer;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server, checked by the assertions
type Json = any;

async function api(method: string, route: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${server.url}/api/v1${route}`, { method, headers: { Authorization: `Bearer ${TOKEN}` } });
  return { status: response.status, body: await response.json() };
}

async function until<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function seed(home: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/seed.ts", "--executions", "500", "--log-files", "20"], {
      cwd: ROOT_DIR,
      env: { ...process.env, MIMIR_HOME: home },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

beforeAll(async () => {
  server = await startBuiltServer({ MIMIR_API_TOKEN: TOKEN });
}, 90_000);
afterAll(() => server?.stop());

test("seeding a running server: the scheduler picks the jobs up, a seeded job's run succeeds, storage has history", { timeout: 120_000 }, async () => {
  const seeded = await seed(server.home);
  expect(seeded.code, seeded.output).toBe(0);

  // The running server notices the jobs another process wrote, without a restart.
  await until(
    () => server.output(),
    (output) => output.includes("scheduler reloaded: jobs were changed by another process"),
    "the scheduler to reload",
  );
  const line = server
    .output()
    .split("\n")
    .find((l) => l.includes("scheduler reloaded: jobs were changed by another process"))!;
  // Seven enabled demo jobs, beside the built-in jobs that are on by default.
  expect(JSON.parse(line.slice(line.indexOf("{"))).scheduled).toBeGreaterThanOrEqual(7);

  const jobs = (await api("GET", "/scheduler/jobs")).body as Json[];
  const demo = jobs.filter((job) => ["triage-tickets", "index-documents", "sentiment"].includes(job.id));
  expect(demo).toHaveLength(3);
  for (const job of demo) {
    expect(job.pipeline_exists).toBe(true);
    expect(job.next_run).not.toBeNull();
    // The Jobs list shows the history's last run, not "never run".
    expect(job.last_run).not.toBeNull();
  }

  // A seeded job really runs, through the demo plugins the seed installed, and succeeds.
  const started = await api("POST", "/scheduler/jobs/triage-tickets/run");
  expect(started.status).toBe(202);
  const run = await until(
    () => api("GET", `/jobs/${started.body.execution_id}`),
    (r) => r.body.status !== "running",
    "the run to finish",
  );
  expect(run.body).toMatchObject({ status: "success", error: null });
  expect(run.body.steps.map((step: Json) => step.status)).toEqual(["success", "success", "success"]);

  // The made-up failures of the history say so.
  const failed = (await api("GET", "/jobs?status=failed&limit=5")).body as Json[];
  expect(failed.length).toBeGreaterThan(0);
  for (const row of failed) expect(row.error).toMatch(/^\[demo history\] /);

  // Days of storage samples for the charts, ending before the server's own.
  const history = (await api("GET", "/storage/history?range=7d")).body;
  const times = (history.volumes as Json[]).filter((point) => point.mimir_data !== undefined).map((point) => Date.parse(point.t));
  expect(times.length).toBeGreaterThan(24);
  expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(2 * 86_400_000);
  expect(fs.existsSync(path.join(server.home, "plugins", "Input.http"))).toBe(true);
});
