import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { getOpenApiDocument } from "@/lib/openapi/document";
import { createPipeline } from "@/lib/pipelines/service";
import { createJob } from "@/lib/jobs/service";
import { countJobs } from "@/lib/jobs/queries";
import { countPipelines } from "@/lib/pipelines/queries";
import { countExecutions } from "@/lib/executions/queries";

/**
 * Bad input: every documented route with a body refuses 10 MB, and each job, pipeline and history
 * route below answers bad input with a 4xx, the error envelope and a clear message, never a 500,
 * and nothing changed (rows and files counted before and after).
 */
const TOKEN = "mimir_badinput00000000000000000000000000000000";
const BASE = "http://127.0.0.1:3000";
const TEN_MB = "a".repeat(10 * 1024 * 1024);
let root: TestDataRoot;

beforeAll(async () => {
  root = createTestDataRoot({ MIMIR_API_TOKEN: TOKEN });
  await seedCredentialsFromEnvironment(root.config);
  await createPipeline("name: good\nsteps:\n  - {name: s, plugin: System.webhook, config: {url: 'http://127.0.0.1:9/'}}\n", null);
  await createJob({ id: "good-job", name: "good", pipeline: "good", cron_expr: "0 2 * * *", enabled: false }, null);
});
afterAll(() => root.cleanup());

async function call(
  method: string,
  openApiPath: string,
  options: { params?: Record<string, string>; query?: string; body?: string; contentType?: string } = {},
) {
  const file = path.join(import.meta.dirname, "../../app", openApiPath.replace(/\{(\w+)\}/g, "[$1]"), "route.ts");
  const handlers = (await import(file)) as Record<string, (request: Request, context: unknown) => Promise<Response>>;
  const url = `${BASE}${openApiPath.replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(options.params?.[key] ?? "good"))}${options.query ?? ""}`;
  const request = new Request(url, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": options.contentType ?? "application/json" },
    body: options.body,
  });
  const params = options.params ?? Object.fromEntries([...openApiPath.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, defaultParam(name!, openApiPath)]));
  const response = await handlers[method]!(request, { params: Promise.resolve(params) });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

/** A value for each path parameter the caller does not name: a seeded job or pipeline, or a well-formed id. */
function defaultParam(name: string, openApiPath: string): string {
  if (name === "backupId") return "20250101-000000";
  if (name === "operationId") return "00000000-0000-4000-8000-000000000000";
  if (name === "id" && openApiPath.includes("scheduler")) return "good-job";
  return "good";
}

async function snapshot() {
  const files = fs.readdirSync(root.config.paths.pipelines).sort();
  return { jobs: await countJobs(), pipelines: await countPipelines(), executions: await countExecutions(), files };
}

/** Routes that take far more than 10 MB by design: an uploaded backup set may be gigabytes (its own cap is covered by test/access.test.ts). */
const LARGE_BODY_ROUTES = new Set(["/api/v1/backups/import"]);

const bodyRoutes = Object.entries(getOpenApiDocument().paths).flatMap(([openApiPath, methods]) =>
  Object.entries(methods)
    .filter(([, operation]) => (operation as { requestBody?: unknown }).requestBody && !LARGE_BODY_ROUTES.has(openApiPath))
    .map(([method]) => ({ method: method.toUpperCase(), openApiPath })),
);

describe("bad input", () => {
  test.each(bodyRoutes)("$method $openApiPath refuses a 10 MB body with 413", async ({ method, openApiPath }) => {
    const before = await snapshot();
    const response = await call(method, openApiPath, { body: TEN_MB });
    expect(response.status).toBe(413);
    expect(response.body.error?.code).toBe("body_too_large");
    expect(await snapshot()).toEqual(before);
  });

  test.each([
    ["POST", "/api/v1/scheduler/jobs", { body: "{not json" }, 400, "invalid_json"],
    ["POST", "/api/v1/scheduler/jobs", { body: "{}" }, 400, "invalid_input"],
    ["POST", "/api/v1/scheduler/jobs", { body: JSON.stringify({ name: 1, pipeline: ["x"], cron_expr: true }) }, 400, "invalid_input"],
    ["POST", "/api/v1/scheduler/jobs", { body: JSON.stringify({ name: "x", pipeline: "good", cron_expr: "0 2 * *" }) }, 400, "invalid_cron"],
    ["POST", "/api/v1/scheduler/jobs", { body: JSON.stringify({ name: "x", pipeline: "good", cron_expr: "0 2 31 2 *" }) }, 400, "invalid_cron"],
    [
      "POST",
      "/api/v1/scheduler/jobs",
      { body: JSON.stringify({ id: "../../etc", name: "x", pipeline: "good", cron_expr: "0 2 * * *" }) },
      400,
      "invalid_input",
    ],
    ["POST", "/api/v1/scheduler/jobs", { body: JSON.stringify({ name: "x", pipeline: "../secrets.yaml", cron_expr: "0 2 * * *" }) }, 400, "invalid_input"],
    [
      "POST",
      "/api/v1/scheduler/jobs",
      { body: JSON.stringify({ id: "good-job", name: "x", pipeline: "good", cron_expr: "0 2 * * *" }) },
      409,
      "already_exists",
    ],
    ["PUT", "/api/v1/scheduler/jobs/{id}", { body: JSON.stringify({ cron_expr: "0 99 * * *" }) }, 400, "invalid_cron"],
    ["PUT", "/api/v1/scheduler/jobs/{id}", { body: JSON.stringify({ enabled: "yes" }) }, 400, "invalid_input"],
    ["GET", "/api/v1/scheduler/jobs/{id}", { params: { id: "../../etc/passwd" } }, 400, "invalid_input"],
    ["DELETE", "/api/v1/scheduler/jobs/{id}", { params: { id: "nope" } }, 404, "not_found"],
    ["POST", "/api/v1/pipelines", { body: "name: x\nsteps:\n  - name: a\n   plugin: [\n", contentType: "application/yaml" }, 400, "invalid_yaml"],
    ["POST", "/api/v1/pipelines", { body: "name: ../evil\nsteps:\n  - {name: a, plugin: P}\n", contentType: "application/yaml" }, 400, "invalid_pipeline"],
    ["POST", "/api/v1/pipelines", { body: "name: x\nsteps: 5\n", contentType: "application/yaml" }, 400, "invalid_pipeline"],
    [
      "POST",
      "/api/v1/pipelines",
      { body: "name: good\nsteps:\n  - {name: a, plugin: System.vacuum}\n", contentType: "application/yaml" },
      409,
      "already_exists",
    ],
    ["POST", "/api/v1/pipelines", { body: '{"metadata": {"name": "x"}, "config": {"steps": "no"}}' }, 400, "invalid_pipeline"],
    ["PUT", "/api/v1/pipelines/{id}", { body: "name: other\nsteps:\n  - {name: a, plugin: P}\n", contentType: "application/yaml" }, 400, "invalid_pipeline"],
    ["GET", "/api/v1/pipelines/{id}", { params: { id: "..%2F..%2Fconfig" } }, 400, "invalid_input"],
    ["DELETE", "/api/v1/pipelines/{id}", {}, 409, "in_use"],
    ["POST", "/api/v1/pipelines/{id}/clone", { body: JSON.stringify({ name: "../x" }) }, 400, "invalid_input"],
    ["POST", "/api/v1/pipelines/execute", { body: JSON.stringify({ context: {} }) }, 400, "invalid_input"],
    ["POST", "/api/v1/pipelines/execute", { body: JSON.stringify({ pipeline_name: "missing" }) }, 404, "not_found"],
    ["GET", "/api/v1/jobs", { query: "?status=exploded" }, 400, "invalid_input"],
    ["GET", "/api/v1/jobs", { query: "?limit=100000" }, 400, "invalid_input"],
    ["GET", "/api/v1/jobs", { query: "?from=yesterday" }, 400, "invalid_input"],
    ["GET", "/api/v1/jobs", { query: "?cursor=garbage" }, 400, "invalid_cursor"],
    ["GET", "/api/v1/jobs/statistics", { query: "?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z" }, 400, "invalid_input"],
    ["POST", "/api/v1/jobs/{id}/stop", { params: { id: "nope" } }, 404, "not_found"],
    ["GET", "/api/v1/logs/executions/{id}", { params: { id: "../../data/mimir" } }, 400, "invalid_input"],
    ["GET", "/api/v1/logs/executions/{id}", { params: { id: "nope" }, query: "?offset=-1" }, 400, "invalid_input"],
  ] as const)("%s %s %j → %i %s", async (method, openApiPath, options, status, code) => {
    const before = await snapshot();
    const response = await call(method, openApiPath, options);
    expect(response.status).toBe(status);
    expect(response.body.error?.code).toBe(code);
    expect(response.body.error?.message.length).toBeGreaterThan(10);
    expect(await snapshot()).toEqual(before);
  });
});
