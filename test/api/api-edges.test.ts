import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBuiltServer, type ConsoleServer } from "@/test/helpers/console-server";

/**
 * B10 / must-fix 8 and B6 over HTTP, against the production build (`next build` first): unknown paths
 * and wrong methods answer the JSON error envelope, the API document is public and names its units,
 * a job for a missing pipeline is accepted with a warning, and the pipeline check knows the plugins.
 */
const TOKEN = `mimir_${"e".repeat(43)}`;
let server: ConsoleServer;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the server, checked by the assertions
type Json = any;

async function call(method: string, route: string, init: { token?: string | null; body?: string; contentType?: string } = {}) {
  const token = init.token === undefined ? TOKEN : init.token;
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.contentType ? { "Content-Type": init.contentType } : {}) },
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: (text ? JSON.parse(text) : null) as Json };
}

beforeAll(async () => {
  server = await startBuiltServer({ MIMIR_API_TOKEN: TOKEN });
}, 90_000);
afterAll(() => server?.stop());

describe("API edges", () => {
  test.each(["GET", "POST", "DELETE"])("%s on an unknown /api/v1 path answers the JSON 404 envelope", async (method) => {
    const answer = await call(method, "/api/v1/nothing/here");
    expect(answer.status).toBe(404);
    expect(answer.headers.get("content-type")).toMatch(/application\/json/);
    expect(answer.body).toMatchObject({ error: { code: "not_found", message: expect.stringContaining("/api/v1/nothing/here") } });
  });

  test("an unknown path without a token is a JSON 401, not a page", async () => {
    const answer = await call("GET", "/api/v1/nothing", { token: null });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: { code: "unauthorized" } });
  });

  test.each([
    ["PATCH", "/api/v1/scheduler/jobs", "GET, POST, HEAD, OPTIONS"],
    ["DELETE", "/api/v1/pipelines/execute", "POST, OPTIONS"],
    ["PUT", "/api/v1/backups", "GET, POST, HEAD, OPTIONS"],
  ])("%s %s answers a JSON 405 with Allow", async (method, route, allow) => {
    const answer = await call(method, route);
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe(allow);
    expect(answer.body).toMatchObject({ error: { code: "method_not_allowed", details: { allow: allow.split(", ") } } });
  });

  test("a method the route has still works through the proxy", async () => {
    expect((await call("GET", "/api/v1/scheduler/jobs")).status).toBe(200);
  });

  test("a set upload larger than the proxy's body buffer reaches the import route whole", async () => {
    // 12 MB of junk: accepted as an upload (202), then refused by the import's own check, never cut short (400).
    const response = await fetch(`${server.url}/api/v1/backups/import`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/x-tar" },
      body: Buffer.alloc(12 * 1024 * 1024, 1),
    });
    expect(response.status).toBe(202);
  });

  test("openapi.json is readable without a token and says durations are nanoseconds", async () => {
    const answer = await call("GET", "/api/v1/openapi.json", { token: null });
    expect(answer.status).toBe(200);
    const duration = answer.body.paths["/api/v1/jobs/{id}"].get.responses["200"].content["application/json"].schema.properties.duration;
    expect(duration.description).toMatch(/nanoseconds/);
  });

  test("a job for a pipeline that does not exist is created with a warning; for one that exists, without", async () => {
    const missing = await call("POST", "/api/v1/scheduler/jobs", { body: JSON.stringify({ name: "ghost", pipeline: "sync.yaml", cron_expr: "0 2 * * *" }) });
    expect(missing.status).toBe(201);
    expect(missing.body).toMatchObject({
      message: expect.any(String),
      job_id: expect.any(String),
      warnings: [expect.stringContaining("'sync.yaml' does not exist")],
    });
    const pipeline = "name: api-edges-ping\nsteps:\n  - name: ping\n    plugin: System.webhook\n    config: {url: 'http://127.0.0.1:9/', method: GET}\n";
    expect((await call("POST", "/api/v1/pipelines", { body: pipeline, contentType: "application/yaml" })).status).toBe(201);
    const present = await call("POST", "/api/v1/scheduler/jobs", {
      body: JSON.stringify({ name: "ping", pipeline: "api-edges-ping", cron_expr: "0 2 * * *" }),
    });
    expect(present.body.warnings).toEqual([]);
  });
});

describe("the pipeline check over HTTP (B6)", () => {
  test("validate refuses a misspelled plugin and a webhook step without url or with an unknown key", async () => {
    const misspelled = await call("POST", "/api/v1/pipelines/anything/validate", {
      body: "name: x\nsteps:\n  - {name: a, plugin: Sytem.webhook}\n",
      contentType: "application/yaml",
    });
    expect(misspelled.body).toMatchObject({
      valid: false,
      errors: [{ path: "steps.0.plugin", message: expect.stringContaining("did you mean 'System.webhook'") }],
    });
    const webhook = await call("POST", "/api/v1/pipelines/anything/validate", {
      body: "name: x\nsteps:\n  - {name: a, plugin: System.webhook, config: {retries: 3}}\n",
      contentType: "application/yaml",
    });
    expect(webhook.body.valid).toBe(false);
    expect(webhook.body.errors.map((error: Json) => error.message).join(" ")).toMatch(
      /url: required.*unknown setting 'retries'|unknown setting 'retries'.*url: required/,
    );
  });

  test("saving such a pipeline is refused with every problem and its line", async () => {
    const answer = await call("POST", "/api/v1/pipelines", {
      body: "name: broken-hook\nsteps:\n  - name: a\n    plugin: System.webhook\n    config: {retries: 3}\n",
      contentType: "application/yaml",
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("invalid_pipeline");
    expect(answer.body.error.details.every((issue: Json) => issue.line === 5)).toBe(true);
  });
});
