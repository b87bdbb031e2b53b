import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import journal from "@/drizzle/pg/meta/_journal.json";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createScratchDatabase, TEST_PG_URL, type ScratchDatabase } from "@/test/helpers/postgres";

/**
 * The Mimir flow on PostgreSQL, against the production build (`next build` first; npm test
 * does): MIMIR_PERSISTENCE_BACKEND=postgres and a connection string, a job created with an HTTP
 * call, the server restarted, the job still there, and stock psql showing it in scheduled_jobs.
 * Then /health while PostgreSQL cannot be reached (503 with the reason) and after it comes back
 * (200, by itself). The server reaches PostgreSQL through a TCP relay on loopback that the test
 * stops and starts: the outage is deterministic and touches nobody else's connections.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");
const TOKEN = "mimir_pgflow00000000000000000000000000000000000";
const PASSWORD = "relay-secret-pw";
let home: string;
let port: number;
let scratch: ScratchDatabase;
let server: ChildProcess | null = null;
let output = "";
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server, checked by the assertions
type Json = any;

/** A TCP relay to the test server's PostgreSQL that can be stopped (refusing, and cutting open connections) and started again on its port. */
class Relay {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((inbound) => {
      const outbound = net.connect(this.target.port, this.target.host);
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

let relay: Relay;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port: found } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(found));
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out; server output:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function connectionString(): string {
  // A password in the URL (trust auth ignores it) proves it is never printed nor returned.
  const url = new URL(scratch.url);
  url.host = `127.0.0.1:${relay.port}`;
  url.password = PASSWORD;
  return url.toString();
}

async function start() {
  output = "";
  server = spawn(path.join(ROOT, "node_modules/.bin/next"), ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT,
    env: {
      ...process.env,
      MIMIR_HOME: home,
      MIMIR_API_TOKEN: TOKEN,
      MIMIR_PERSISTENCE_BACKEND: "postgres",
      MIMIR_CONNECTION_STRING: connectionString(),
      NEXT_TELEMETRY_DISABLED: "1",
      NODE_ENV: "production",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (chunk) => (output += chunk));
  server.stderr!.on("data", (chunk) => (output += chunk));
  await until(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true, 90_000);
}

async function stop() {
  const child = server;
  server = null;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function api(method: string, route: string, body?: unknown) {
  const yaml = typeof body === "string";
  const response = await fetch(`http://127.0.0.1:${port}/api/v1${route}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "Content-Type": yaml ? "application/yaml" : "application/json" } : {}) },
    body: body === undefined ? undefined : yaml ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

async function health(token = true) {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { headers: token ? { Authorization: `Bearer ${TOKEN}` } : {} });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, ".next/BUILD_ID"))) throw new Error("No production build: run `next build` first");
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-pgflow-"));
  // boot migrates it: the database starts empty
  scratch = await createScratchDatabase({ label: "flow", migrate: false });
  const target = new URL(TEST_PG_URL);
  relay = new Relay({ host: target.hostname, port: Number(target.port || 5432) });
  await relay.start();
  port = await freePort();
  await start();
}, 180_000);

afterAll(async () => {
  server?.kill("SIGKILL");
  await relay?.stop();
  await scratch?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

test("a job created over HTTP survives a restart, lives in PostgreSQL (psql shows it), and no password is shown", async () => {
  const pipeline = await api("POST", "/pipelines", "name: nightly\nsteps:\n  - {name: sample, plugin: System.storage_sample}\n");
  expect(pipeline.status).toBe(201);
  const created = await api("POST", "/scheduler/jobs", { id: "pg-flow", name: "Nightly on PostgreSQL", pipeline: "nightly", cron_expr: "0 2 * * *" });
  expect(created.status).toBe(201);

  await stop();
  await start();

  const listed = await api("GET", "/scheduler/jobs/pg-flow");
  expect(listed.status).toBe(200);
  expect(listed.body).toMatchObject({ id: "pg-flow", name: "Nightly on PostgreSQL", cron_expr: "0 2 * * *", enabled: true });
  expect(listed.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

  const psql = execFileSync("psql", [scratch.url, "-X", "-A", "-t", "-c", "select id, name, cron_expr, enabled from scheduled_jobs where id = 'pg-flow'"], {
    encoding: "utf8",
  });
  expect(psql.trim()).toBe("pg-flow|Nightly on PostgreSQL|0 2 * * *|t");

  const report = await health();
  expect(report.status).toBe(200);
  const body = JSON.parse(report.text);
  expect(body.persistence).toMatchObject({
    backend: "postgres",
    status: "healthy",
    host: "127.0.0.1",
    database: scratch.name,
    schema_version: String(journal.entries.length),
  });
  const anonymous = await health(false);
  expect(JSON.parse(anonymous.text).persistence).toMatchObject({ backend: "postgres", database: scratch.name });
  for (const text of [report.text, anonymous.text, output, JSON.stringify(await api("GET", "/config"))]) expect(text).not.toContain(PASSWORD);
}, 240_000);

test("/health answers 503 with the reason while PostgreSQL cannot be reached, and recovers by itself", async () => {
  await relay.stop();
  let down = { status: 0, text: "" };
  await until(async () => {
    down = await health();
    return down.status === 503;
  }, 60_000);
  // the token cannot be checked either (its hash is in the database): the caller gets the public answer
  const body = JSON.parse(down.text);
  expect(body).toMatchObject({ status: "unhealthy", reason_codes: ["database_unreadable"] });
  expect(body.persistence).toMatchObject({ backend: "postgres", status: "unhealthy", database: scratch.name });
  expect(down.text).not.toContain(PASSWORD);

  await relay.start();
  await until(async () => (await health()).status === 200, 60_000);
  expect((await api("GET", "/scheduler/jobs/pg-flow")).status).toBe(200);
}, 180_000);
