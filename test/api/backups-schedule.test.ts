import fs from "node:fs";
import { afterEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { getJob } from "@/lib/jobs/service";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { followConfigInBuiltinJobs } from "@/lib/scheduler/builtin-config";
import { GET, PUT } from "@/app/api/v1/backups/schedule/route";

/** PUT /api/v1/backups/schedule, the scripts' way to switch scheduled backups; GET reads the same state. */
const TOKEN = "mimir_schedule0000000000000000000000000000000000";
const ENDPOINT = "http://127.0.0.1:3000/api/v1/backups/schedule";
const context = { params: Promise.resolve({}) };
let root: TestDataRoot;
let unfollow: () => void = () => undefined;
afterEach(() => {
  unfollow();
  root.cleanup();
});

async function setUp(env: Record<string, string> = {}) {
  root = createTestDataRoot({ MIMIR_API_TOKEN: TOKEN, ...env });
  await seedCredentialsFromEnvironment(root.config);
  await ensureBuiltinJobs(root.config);
  // As boot leaves it: the built-in jobs follow persistence.backup_enabled.
  unfollow = followConfigInBuiltinJobs();
}

async function put(body: string) {
  const response = await PUT(
    new Request(ENDPOINT, { method: "PUT", headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" }, body }),
    context,
  );
  return { status: response.status, body: await response.json() };
}

async function backupJobEnabled(): Promise<boolean> {
  return (await getJob("system-backup")).enabled;
}

test("switches scheduled backups on and off and answers with the settings and the jobs", async () => {
  await setUp();
  const on = await put(JSON.stringify({ enabled: true }));
  expect(on.status).toBe(200);
  expect(on.body.settings).toMatchObject({ enabled: true, enabled_by_env: null, schedule: "0 2 * * *" });
  expect(on.body.jobs).toEqual([
    { id: "system-backup", name: "Backup (daily)", enabled: true },
    { id: "system-prune-backups", name: "Prune backups (keep days)", enabled: true },
    { id: "system-verify-backups", name: "Verify backups (restore drill)", enabled: true },
  ]);
  expect(fs.readFileSync(root.config.configFile, "utf8")).toContain("backup_enabled: true");

  const read = await GET(new Request(ENDPOINT, { headers: { Authorization: `Bearer ${TOKEN}` } }), context);
  expect(await read.json()).toEqual(on.body);

  const off = await put(JSON.stringify({ enabled: false }));
  expect(off.status).toBe(200);
  expect(off.body.settings.enabled).toBe(false);
  expect(await backupJobEnabled()).toBe(false);
});

test.each([
  ["{not json", 400, "invalid_json"],
  ["{}", 400, "invalid_input"],
  [JSON.stringify({ enabled: "yes" }), 400, "invalid_input"],
  [JSON.stringify({ enabled: 1 }), 400, "invalid_input"],
  [JSON.stringify({ enabled: true, schedule: "* * * * *" }), 400, "invalid_input"],
])("refuses %s with %i %s and changes nothing", async (body, status, code) => {
  await setUp();
  const response = await put(body);
  expect(response.status).toBe(status);
  expect(response.body.error.code).toBe(code);
  expect(response.body.error.message.length).toBeGreaterThan(10);
  expect(fs.existsSync(root.config.configFile)).toBe(false);
  expect(await backupJobEnabled()).toBe(false);
});

test("refuses with 409 env_override, naming the variable, when the environment sets the value", async () => {
  await setUp({ MIMIR_BACKUP_ENABLED: "false" });
  const response = await put(JSON.stringify({ enabled: true }));
  expect(response.status).toBe(409);
  expect(response.body.error).toMatchObject({ code: "env_override", details: { key: "persistence.backup_enabled", variable: "MIMIR_BACKUP_ENABLED" } });
  expect(fs.existsSync(root.config.configFile)).toBe(false);
  expect(await backupJobEnabled()).toBe(false);
});
