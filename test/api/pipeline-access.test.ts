import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createApiToken } from "@/lib/auth/tokens";
import type { Principal } from "@/lib/auth/scopes";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { startJobRun } from "@/lib/scheduler/run";
import { getExecution } from "@/lib/executions/service";
import { getJob } from "@/lib/jobs/service";

/**
 * The attacks of the security report's finding 2 (and 11, 16 "ad-hoc runs"), replayed against the
 * route handlers with real tokens on a real data root: a write token may not do admin work through
 * pipelines or the built-in jobs, nor make a job fire every second; viewers do not see step secrets.
 */
const BASE = "http://127.0.0.1:3000";
const SECRET_PATH = "services/T000/B000/TOPSECRETWEBHOOK";
const SECRET_HEADER = "Bearer hdr-s3cret-value";
const system: Principal = { kind: "token", id: "setup", name: "setup", scope: "admin" };
let root: TestDataRoot;
const tokens: Record<"read" | "write" | "admin", string> = { read: "", write: "", admin: "" };

beforeAll(async () => {
  root = createTestDataRoot({ MIMIR_MAX_CONCURRENT_ADHOC_RUNS: "1" });
  for (const scope of ["read", "write", "admin"] as const) tokens[scope] = (await createApiToken({ name: `sec-${scope}`, scope }, system)).token;
  await ensureBuiltinJobs(root.config);
  // Stands for a long-running step: waits until the test lets it finish.
  fs.writeFileSync(
    path.join(root.config.paths.plugins, "Wait.go"),
    `#!/bin/sh\ncat >/dev/null\nwhile [ ! -f "${root.home}/go" ]; do sleep 0.05; done\necho '{}'\n`,
    { mode: 0o700 },
  );
});
afterAll(() => root.cleanup());

async function call(
  scope: keyof typeof tokens,
  method: string,
  routePath: string,
  options: { params?: Record<string, string>; body?: string; contentType?: string } = {},
) {
  const file = path.join(import.meta.dirname, "../../app/api/v1", routePath.replace(/\{(\w+)\}/g, "[$1]"), "route.ts");
  const handlers = (await import(file)) as Record<string, (request: Request, context: unknown) => Promise<Response>>;
  const url = `${BASE}/api/v1${routePath.replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(options.params?.[key] ?? ""))}`;
  const request = new Request(url, {
    method,
    headers: { Authorization: `Bearer ${tokens[scope]}`, "Content-Type": options.contentType ?? "application/json" },
    body: options.body,
  });
  const response = await handlers[method]!(request, { params: Promise.resolve(options.params ?? {}) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from the handler, checked by the assertions
  return { status: response.status, body: (await response.json()) as any };
}

const yaml = (text: string) => ({ body: text, contentType: "application/yaml" });

describe("a write token cannot do admin work through pipelines (finding 2)", () => {
  test("a pipeline with an admin-only step is refused at save, naming the step and the scope", async () => {
    const created = await call(
      "write",
      "POST",
      "/pipelines",
      yaml("name: wprune\nsteps:\n  - name: prune\n    plugin: System.prune_backups\n    config: {dry_run: false}\n"),
    );
    expect(created.status).toBe(403);
    expect(created.body.error.code).toBe("insufficient_scope");
    expect(created.body.error.message).toContain("step 'prune' (System.prune_backups) needs the 'admin' scope; token 'sec-write' has 'write'");
  });

  test("an admin's prune pipeline cannot be run ad hoc by a write token", async () => {
    expect(
      (await call("admin", "POST", "/pipelines", yaml("name: aprune\nsteps:\n  - {name: prune, plugin: System.prune_backups, config: {dry_run: true}}\n")))
        .status,
    ).toBe(201);
    const run = await call("write", "POST", "/pipelines/execute", { body: JSON.stringify({ pipeline_name: "aprune" }) });
    expect(run.status).toBe(403);
    expect(run.body.error.code).toBe("insufficient_scope");
    expect((await call("admin", "POST", "/pipelines/execute", { body: JSON.stringify({ pipeline_name: "aprune" }) })).body.status).toBe("success");
  });

  test("the built-in backup job cannot be enabled, re-pointed or deleted, nor its pipelines rewritten, below admin", async () => {
    for (const [method, routePath, options] of [
      ["POST", "/scheduler/jobs/{id}/enable", { params: { id: "system-backup" } }],
      ["POST", "/scheduler/jobs/{id}/disable", { params: { id: "system-backup" } }],
      ["PUT", "/scheduler/jobs/{id}", { params: { id: "system-backup" }, body: JSON.stringify({ pipeline: "aprune" }) }],
      ["PUT", "/scheduler/jobs/{id}", { params: { id: "system-storage-sample" }, body: JSON.stringify({ cron_expr: "*/5 * * * *" }) }],
      [
        "PUT",
        "/pipelines/{id}",
        {
          params: { id: "system-storage-sample" },
          ...yaml("name: system-storage-sample\nsteps:\n  - {name: ping, plugin: System.webhook, config: {url: 'https://example.com/'}}\n"),
        },
      ],
    ] as const) {
      const answer = await call("write", method, routePath, options);
      expect(answer.status, `${method} ${routePath}`).toBe(403);
      expect(answer.body.error.code).toBe("builtin_admin_only");
    }
    expect((await getJob("system-backup")).enabled).toBe(false);
    expect((await getJob("system-backup")).pipeline).toBe("system-backup");
    expect((await call("admin", "POST", "/scheduler/jobs/{id}/enable", { params: { id: "system-backup" } })).status).toBe(200);
    expect((await call("admin", "POST", "/scheduler/jobs/{id}/disable", { params: { id: "system-backup" } })).status).toBe(200);
  });

  test("a job that would run System.backup cannot be made or pointed there by a write token", async () => {
    const made = await call("write", "POST", "/scheduler/jobs", {
      body: JSON.stringify({ id: "wbackup", name: "bk", pipeline: "system-backup", cron_expr: "0 * * * *" }),
    });
    expect(made.status).toBe(403);
    expect(made.body.error.message).toContain("(System.backup) needs the 'admin' scope");
    // An admin's job that uses an admin step cannot be changed (even switched off) by a write token either.
    expect(
      (
        await call("admin", "POST", "/scheduler/jobs", {
          body: JSON.stringify({ id: "aprune-job", name: "prune", pipeline: "aprune", cron_expr: "0 3 * * *", enabled: false }),
        })
      ).status,
    ).toBe(201);
    expect((await call("write", "PUT", "/scheduler/jobs/{id}", { params: { id: "aprune-job" }, body: JSON.stringify({ enabled: true }) })).status).toBe(403);
  });

  test("a job cannot fire every second: 422 below scheduler.min_interval_seconds", async () => {
    expect((await call("write", "POST", "/pipelines", yaml("name: harmless\nsteps:\n  - {name: a, plugin: System.analyze}\n"))).status).toBe(201);
    for (const cron of ["* * * * * *", "*/30 * * * * *", "0,1 0 * * * *"]) {
      const answer = await call("write", "POST", "/scheduler/jobs", { body: JSON.stringify({ name: "fast", pipeline: "harmless", cron_expr: cron }) });
      expect(answer.status, cron).toBe(422);
      expect(answer.body.error.code).toBe("cron_too_frequent");
    }
    expect(
      (await call("write", "POST", "/scheduler/jobs", { body: JSON.stringify({ id: "minutely", name: "ok", pipeline: "harmless", cron_expr: "* * * * *" }) }))
        .status,
    ).toBe(201);
    expect(
      (await call("write", "PUT", "/scheduler/jobs/{id}", { params: { id: "minutely" }, body: JSON.stringify({ cron_expr: "*/10 * * * * *" }) })).status,
    ).toBe(422);
  });

  test("an admin's job with an admin step keeps running from the scheduler; a write-owned job whose pipeline gained one is refused at run time", async () => {
    expect((await call("admin", "POST", "/pipelines", yaml("name: avacuum\nsteps:\n  - {name: vacuum, plugin: System.vacuum}\n"))).status).toBe(201);
    expect(
      (
        await call("admin", "POST", "/scheduler/jobs", {
          body: JSON.stringify({ id: "avacuum-job", name: "vacuum", pipeline: "avacuum", cron_expr: "0 4 * * *" }),
        })
      ).status,
    ).toBe(201);
    const run = await startJobRun("avacuum-job", "scheduler");
    await run.finished;
    expect((await getExecution(run.execution_id)).status).toBe("success");

    expect((await call("write", "POST", "/pipelines", yaml("name: growing\nsteps:\n  - {name: a, plugin: System.analyze}\n"))).status).toBe(201);
    expect(
      (
        await call("write", "POST", "/scheduler/jobs", {
          body: JSON.stringify({ id: "growing-job", name: "growing", pipeline: "growing", cron_expr: "0 5 * * *" }),
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call("admin", "PUT", "/pipelines/{id}", {
          params: { id: "growing" },
          ...yaml("name: growing\nsteps:\n  - {name: vacuum, plugin: System.vacuum}\n"),
        })
      ).status,
    ).toBe(200);
    const refused = await startJobRun("growing-job", "scheduler");
    await refused.finished;
    const execution = await getExecution(refused.execution_id);
    expect(execution.status).toBe("failed");
    expect(execution.error).toContain("step 'vacuum' (System.vacuum) needs the 'admin' scope; job 'growing-job' (saved by token:sec-write) has 'write'");
    expect(execution.steps).toHaveLength(0);
  });
});

describe("ad-hoc runs are bounded (finding 16)", () => {
  test("a second concurrent ad-hoc run over scheduler.max_concurrent_adhoc_runs gets 429; pipelines have at most 100 steps", async () => {
    expect((await call("write", "POST", "/pipelines", yaml("name: waits\nsteps:\n  - {name: w, plugin: Wait.go}\n"))).status).toBe(201);
    const logs = path.join(root.config.paths.logs, "executions");
    const logCount = () => (fs.existsSync(logs) ? fs.readdirSync(logs).length : 0);
    // Earlier tests in this file leave logs of their own runs: the first run is in progress once a new log exists.
    const before = logCount();
    const first = call("write", "POST", "/pipelines/execute", { body: JSON.stringify({ pipeline_name: "waits" }) });
    // Polled without a cap of its own: the test's timeout is the bound, so a loaded machine only waits longer.
    while (logCount() <= before) await new Promise((resolve) => setTimeout(resolve, 25));
    const second = await call("write", "POST", "/pipelines/execute", { body: JSON.stringify({ pipeline_name: "harmless" }) });
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe("too_many_runs");
    fs.writeFileSync(path.join(root.home, "go"), "");
    expect((await first).body.status).toBe("success");
    expect((await call("write", "POST", "/pipelines/execute", { body: JSON.stringify({ pipeline_name: "harmless" }) })).status).toBe(200);

    const steps = Array.from({ length: 101 }, (_, i) => `  - {name: s${i}, plugin: System.analyze}\n`).join("");
    const tooLong = await call("write", "POST", "/pipelines", yaml(`name: long\nsteps:\n${steps}`));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toContain("at most 100 steps");
  });
});

describe("step secrets are masked below write scope (finding 11)", () => {
  const text = `name: hooked\nsteps:\n  - name: ping\n    plugin: System.webhook\n    config:\n      url: "https://hooks.example.com/${SECRET_PATH}?sig=abc123"\n      headers: {Authorization: "${SECRET_HEADER}"}\n      body: {api_token: "tok-s3cret-value", note: visible}\n`;

  test("a read token sees the pipeline without its secrets; a writer sees them and a masked save keeps them", async () => {
    expect((await call("write", "POST", "/pipelines", yaml(text))).status).toBe(201);
    const viewer = await call("read", "GET", "/pipelines/{id}", { params: { id: "hooked" } });
    expect(viewer.status).toBe(200);
    const seen = JSON.stringify(viewer.body);
    for (const secret of [SECRET_PATH, "sig=abc123", SECRET_HEADER, "tok-s3cret-value"]) expect(seen).not.toContain(secret);
    expect(viewer.body.config).toContain("https://hooks.example.com/********");
    expect(viewer.body.definition.steps[0].config.body.note).toBe("visible");

    const writer = await call("write", "GET", "/pipelines/{id}", { params: { id: "hooked" } });
    expect(writer.body.config).toContain(SECRET_PATH);

    // A script that read the masked text and saves it back with a changed description keeps the secrets.
    const masked = (viewer.body.config as string).replace("name: hooked", "name: hooked\ndescription: edited");
    expect((await call("write", "PUT", "/pipelines/{id}", { params: { id: "hooked" }, ...yaml(masked) })).status).toBe(200);
    const after = await call("admin", "GET", "/pipelines/{id}", { params: { id: "hooked" } });
    expect(after.body.description).toBe("edited");
    for (const secret of [SECRET_PATH, "sig=abc123", SECRET_HEADER, "tok-s3cret-value"]) expect(after.body.config).toContain(secret);
  });
});
