import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { upsertToken } from "@/lib/auth/queries";
import { hashSecret } from "@/lib/auth/passwords";
import { waitForOperation } from "@/lib/operations/service";
import * as vacuumRoute from "@/app/api/v1/maintenance/vacuum/route";
import * as integrityRoute from "@/app/api/v1/maintenance/integrity-check/route";
import * as recoverRoute from "@/app/api/v1/maintenance/recover/route";
import * as swapRoute from "@/app/api/v1/maintenance/recover/swap/route";
import * as csvRoute from "@/app/api/v1/export/csv/[table]/route";
import * as sqlRoute from "@/app/api/v1/export/sql/route";
import * as cleanupRoute from "@/app/api/v1/retention/cleanup/route";
import * as queryRoute from "@/app/api/v1/query/route";

const TOKEN = "mimir_routetest0000000000000000000000000000000";
const READ_TOKEN = "mimir_readonly0000000000000000000000000000000";
const WRITE_TOKEN = "mimir_writeonly000000000000000000000000000000";
let root: TestDataRoot;

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

function call(handler: Handler, options: { method?: string; body?: string; params?: Record<string, string>; token?: string | null } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
  const request = new Request("http://localhost/api/v1/x", { method: options.method ?? "POST", body: options.body, headers });
  return handler(request, { params: Promise.resolve(options.params ?? {}) });
}

const executionCount = () => getDb().$client.prepare("SELECT count(*) FROM job_executions").pluck().get();

beforeAll(async () => {
  root = createTestDataRoot({ MIMIR_API_TOKEN: TOKEN });
  await seedCredentialsFromEnvironment(root.config);
  for (const [id, token, scope] of [
    ["read", READ_TOKEN, "read"],
    ["write", WRITE_TOKEN, "write"],
  ] as const) {
    await upsertToken({
      id,
      name: `${scope} token`,
      tokenHash: hashSecret(token),
      prefix: token.slice(0, 10),
      scope,
      createdBy: "test",
      createdAt: new Date().toISOString(),
    });
  }
  getDb().$client.exec(`
    INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES ('j', 'J', 'p', '0 1 * * *', 1, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z');
    INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ('old', 'j', 'p', '2025-01-01T00:00:00.000Z', 'success', 'manual');`);
});
afterAll(() => root.cleanup());

describe("bad input gets a clear 4xx envelope and changes nothing", () => {
  test.each([
    ["wrong type", cleanupRoute.POST, '{"dry_run":"yes"}', 400],
    ["unknown field", cleanupRoute.POST, '{"dry_run":true,"where":"1=1"}', 400],
    ["negative days", cleanupRoute.POST, '{"retention_days":-1}', 400],
    ["not JSON", cleanupRoute.POST, "dry_run=true", 400],
    ["huge body", cleanupRoute.POST, JSON.stringify({ dry_run: false, job_id: "x".repeat(2 * 1024 * 1024) }), 413],
    ["a write in the query box", queryRoute.POST, '{"sql":"DELETE FROM job_executions"}', 422],
    ["two statements", queryRoute.POST, '{"sql":"SELECT 1; DROP TABLE job_executions"}', 400],
    ["empty SQL", queryRoute.POST, '{"sql":"   "}', 400],
    ["integrity flag of the wrong type", integrityRoute.POST, '{"quick":"please"}', 400],
    ["swap without the confirmation word", swapRoute.POST, '{"operation_id":"00000000-0000-4000-8000-000000000000","confirm":"yes"}', 400],
  ] as const)("%s → %i", async (_name, handler, body, status) => {
    const response = await call(handler as Handler, { body });
    expect(response.status).toBe(status);
    const envelope = await response.json();
    expect(envelope.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    expect(executionCount()).toBe(1);
  });

  test.each(["no_such_table", "../../etc/passwd", "job_executions; DROP TABLE x", "sqlite_master"])("CSV of table %j → 404", async (table) => {
    const response = await call(csvRoute.GET as Handler, { method: "GET", params: { table } });
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("not_found");
  });

  test.each(["users", "sessions", "api_tokens"])("CSV of the credential table %j → 403", async (table) => {
    const response = await call(csvRoute.GET as Handler, { method: "GET", params: { table } });
    expect(response.status).toBe(403);
    expect((await response.json()).error.message).toContain("credentials");
  });

  test.each([
    ["vacuum", vacuumRoute.POST, "POST"],
    ["recover", recoverRoute.POST, "POST"],
    ["SQL export", sqlRoute.GET, "GET"],
    ["query", queryRoute.POST, "POST"],
  ] as const)("%s refuses an anonymous caller with 401", async (_name, handler, method) => {
    const response = await call(handler as Handler, { method, token: null, body: method === "POST" ? '{"sql":"SELECT 1"}' : undefined });
    expect(response.status).toBe(401);
  });
});

describe("scopes", () => {
  test.each([
    ["a read token starts VACUUM", vacuumRoute.POST, "POST", READ_TOKEN, undefined],
    ["a read token runs a cleanup", cleanupRoute.POST, "POST", READ_TOKEN, '{"dry_run":true}'],
    ["a write token exports SQL", sqlRoute.GET, "GET", WRITE_TOKEN, undefined],
    ["a write token queries", queryRoute.POST, "POST", WRITE_TOKEN, '{"sql":"SELECT 1"}'],
    ["a write token starts a recovery", recoverRoute.POST, "POST", WRITE_TOKEN, undefined],
  ] as const)("%s → 403", async (_name, handler, method, token, body) => {
    const response = await call(handler as Handler, { method, token, body });
    expect(response.status).toBe(403);
    expect(executionCount()).toBe(1);
  });
});

describe("scripts", () => {
  test("dry run answers with a report; the real cleanup is a 202 operation that deletes the old run", async () => {
    const dry = await call(cleanupRoute.POST as Handler, { body: '{"dry_run":true}' });
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ dry_run: true, expired_rows: 1, deleted_rows: 0 });
    expect(executionCount()).toBe(1);
    const real = await call(cleanupRoute.POST as Handler, { body: "{}" });
    expect(real.status).toBe(202);
    const operation = await waitForOperation((await real.json()).id);
    expect(operation.result).toMatchObject({ deleted_rows: 1 });
    expect(executionCount()).toBe(0);
  });

  test("CSV export streams the header and rows with a download name", async () => {
    const response = await call(csvRoute.GET as Handler, { method: "GET", params: { table: "scheduled_jobs" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="scheduled_jobs-\d{8}-\d{6}\.csv"$/);
    const text = await response.text();
    expect(text.split("\r\n")[0]).toMatch(/^id,name,pipeline,cron_expr/);
    expect(text).toContain("j,J,p,0 1 * * *");
  });

  test("an empty POST runs integrity_check as a 202 operation", async () => {
    const response = await call(integrityRoute.POST as Handler, {});
    expect(response.status).toBe(202);
    const operation = await waitForOperation((await response.json()).id);
    expect(operation.result).toMatchObject({ ok: true, mode: "integrity_check", problems: [] });
  });
});
