import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startServer, type RunningServer } from "@/test/helpers/server";

/**
 * The audit log as the production server writes it: the caller's address comes from the socket
 * (stamped by the boot's request hook), never from a client's X-Forwarded-For, and refused writes
 * fold into one row with a count.
 */
const ADMIN = "mimir_auditserver000000000000000000000000000000";
let home: string;
let server: RunningServer;

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-audit-server-"));
  server = await startServer({ MIMIR_HOME: home, MIMIR_API_TOKEN: ADMIN });
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(home, { recursive: true, force: true });
});

const api = (token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function auditSince(id: number) {
  const page = (await (await api(ADMIN, "GET", "/audit?limit=1000")).json()) as {
    items: { id: number; action: string; actor: string; result: string; ip: string | null; details: Record<string, unknown> | null }[];
  };
  return page.items.filter((row) => row.id > id);
}

async function lastAuditId(): Promise<number> {
  return (await auditSince(0))[0]?.id ?? 0;
}

test("one write gives one row with the socket's address, whatever X-Forwarded-For claims", async () => {
  const since = await lastAuditId();
  const created = await api(
    ADMIN,
    "POST",
    "/scheduler/jobs",
    { name: "audited job", pipeline: "system-storage-sample", cron_expr: "0 5 * * *" },
    { "x-forwarded-for": "10.9.9.9" },
  );
  expect(created.status).toBe(201);
  const rows = await auditSince(since);
  expect(rows.map((row) => [row.action, row.actor, row.result, row.ip])).toEqual([["job.create", "MIMIR_API_TOKEN (environment)", "ok", "127.0.0.1"]]);
});

test("refused writes by a read token fold into one row that counts them, with the real address", async () => {
  const created = await api(ADMIN, "POST", "/tokens", { name: "reader", scope: "read" });
  expect(created.status).toBe(201);
  const reader = ((await created.json()) as { token: string }).token;
  const since = await lastAuditId();
  for (let i = 0; i < 50; i++) {
    const refused = await api(reader, "POST", "/backups", undefined, { "x-forwarded-for": `10.0.${i}.1` });
    expect(refused.status).toBe(403);
  }
  const rows = await auditSince(since);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ actor: "reader", result: "denied", action: "backup.create", ip: "127.0.0.1", details: { count: 50 } });
});
