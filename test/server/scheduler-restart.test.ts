import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";

/**
 * The script scenario against the production build (run `next build` first; `npm test` does):
 * create a pipeline and a per-second job over HTTP, see it fire, read a run and its log, stop a long
 * run, kill -9 the server mid-run and restart it: the job and its history are unchanged, and the
 * interrupted run is failed with the reason.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");
const TOKEN = "mimir_restart0000000000000000000000000000000000";
let home: string;
let port: number;
let server: ChildProcess | null = null;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server, checked by the assertions
type Json = any;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port: found } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(found));
    });
  });
}

async function start() {
  server = spawn(path.join(ROOT, "node_modules/.bin/next"), ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT,
    // A per-second job that pings this server on loopback: the fire-rate floor and the outbound guard are opened for it.
    env: {
      ...process.env,
      MIMIR_HOME: home,
      MIMIR_API_TOKEN: TOKEN,
      MIMIR_SCHEDULER_MIN_INTERVAL_SECONDS: "1",
      MIMIR_ALLOWED_DESTINATIONS: `127.0.0.1:${port}`,
      NEXT_TELEMETRY_DISABLED: "1",
      NODE_ENV: "production",
    },
    stdio: "ignore",
  });
  await until(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true, 60_000);
}

async function until(check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function api(method: string, route: string, body?: string, contentType = "application/json") {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1${route}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "Content-Type": contentType } : {}) },
    body,
  });
  return { status: response.status, body: (await response.json()) as Json };
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, ".next/BUILD_ID"))) throw new Error("No production build: run `next build` first");
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-restart-"));
  port = await freePort();
  await start();
  fs.writeFileSync(path.join(home, "plugins", "Test.sleep"), "#!/bin/sh\ncat >/dev/null\necho napping >&2\nsleep 60\necho '{}'\n", { mode: 0o700 });
}, 90_000);

afterAll(() => {
  server?.kill("SIGKILL");
  fs.rmSync(home, { recursive: true, force: true });
});

test("a per-second job fires, a run stops, and jobs and history survive kill -9", async () => {
  const pipeline = `name: tick\nsteps:\n  - name: ping\n    plugin: System.webhook\n    config: {url: "http://127.0.0.1:${port}/health", method: GET}\n`;
  expect((await api("POST", "/pipelines", pipeline, "application/yaml")).status).toBe(201);
  expect((await api("POST", "/pipelines", "name: nap\nsteps:\n  - {name: zz, plugin: Test.sleep}\n", "application/yaml")).status).toBe(201);
  const created = await api("POST", "/scheduler/jobs", JSON.stringify({ name: "tick", pipeline: "tick.yaml", cron_expr: "* * * * * *" }));
  expect(created).toMatchObject({ status: 201, body: { message: expect.any(String), job_id: expect.any(String) } });
  const tick = created.body.job_id as string;
  expect((await api("POST", "/scheduler/jobs", JSON.stringify({ id: "nap", name: "nap", pipeline: "nap", cron_expr: "0 0 1 1 *" }))).status).toBe(201);

  await until(async () => (await api("GET", `/jobs?job_id=${tick}&status=success`)).body.length >= 2);
  const [run] = (await api("GET", `/jobs?job_id=${tick}&status=success&limit=1`)).body;
  expect(run.triggered_by).toBe("scheduler");
  expect((await api("GET", `/jobs/${run.id}`)).body.steps[0]).toMatchObject({ step_name: "ping", plugin: "System.webhook", status: "success" });
  expect((await api("GET", `/logs/executions/${run.id}`)).body.content).toContain("answered 200");

  const long = (await api("POST", "/scheduler/jobs/nap/run")).body.execution_id as string;
  await until(async () => (await api("GET", `/logs/executions/${long}`)).body.content.includes("napping"));
  expect((await api("POST", `/jobs/${long}/stop`)).status).toBe(202);
  await until(async () => (await api("GET", `/jobs/${long}`)).body.status === "cancelled");

  expect((await api("POST", `/scheduler/jobs/${tick}/disable`)).status).toBe(200);
  const interrupted = (await api("POST", "/scheduler/jobs/nap/run")).body.execution_id as string;
  await until(async () => (await api("GET", `/logs/executions/${interrupted}`)).body.content.includes("napping"));
  const jobsBefore = (await api("GET", "/scheduler/jobs")).body.map((job: Json) => ({ ...job, pipeline_exists: undefined }));
  const historyBefore = (await api("GET", `/jobs?job_id=${tick}&limit=1000`)).body;

  server!.kill("SIGKILL");
  await new Promise((resolve) => server!.once("exit", resolve));
  await start();

  const jobsAfter = (await api("GET", "/scheduler/jobs")).body.map((job: Json) => ({ ...job, pipeline_exists: undefined }));
  expect(jobsAfter.find((job: Json) => job.id === tick)).toEqual(jobsBefore.find((job: Json) => job.id === tick));
  expect((await api("GET", `/jobs?job_id=${tick}&limit=1000`)).body).toEqual(historyBefore);
  expect((await api("GET", `/jobs/${interrupted}`)).body).toMatchObject({ status: "failed", error: expect.stringContaining("server process stopped") });
  expect((await api("GET", "/scheduler/jobs/nap")).body.last_result).toMatchObject({ success: false, execution_id: interrupted });
}, 120_000);
