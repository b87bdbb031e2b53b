import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createUser, newApiTokenValue, seedCredentialsFromEnvironment, signIn } from "@/lib/auth/service";
import { upsertToken } from "@/lib/auth/queries";
import { hashSecret } from "@/lib/auth/passwords";
import { nowIso } from "@/lib/db/timestamps";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { listAuditLog } from "@/lib/audit/service";
import { actingFor } from "@/lib/audit/context";
import { createJob } from "@/lib/jobs/service";
import { clientAddress, installPeerAddressHeader, normalizeAddress, PEER_ADDRESS_HEADER } from "@/lib/client-address";
import { POST as createJobRoute } from "@/app/api/v1/scheduler/jobs/route";
import { POST as createTokenRoute } from "@/app/api/v1/tokens/route";
import { PUT as scheduleRoute } from "@/app/api/v1/backups/schedule/route";
import { POST as backupRoute } from "@/app/api/v1/backups/route";
import { POST as validateRoute } from "@/app/api/v1/pipelines/[id]/validate/route";
import type { AuditEntryDto } from "@/lib/audit/types";
import type { Principal } from "@/lib/auth/scopes";

const ADMIN_TOKEN = newApiTokenValue();
const READ_TOKEN = newApiTokenValue();
let root: TestDataRoot;
/** Rows written by the set-up (the built-in jobs and pipelines) are not the test's. */
let baseline = 0;

beforeEach(async () => {
  root = createTestDataRoot({ MIMIR_API_TOKEN: ADMIN_TOKEN });
  installPeerAddressHeader();
  await seedCredentialsFromEnvironment(root.config);
  await upsertToken({
    id: "read-token",
    name: "reader",
    tokenHash: hashSecret(READ_TOKEN),
    prefix: READ_TOKEN.slice(0, 10),
    scope: "read",
    createdAt: nowIso(),
  });
  await ensureBuiltinJobs(root.config);
  baseline = (await listAuditLog({ limit: 1 })).items[0]?.id ?? 0;
});
afterEach(() => root.cleanup());

function request(
  path: string,
  init: { method: string; token: string; body?: unknown; peer?: string; headers?: Record<string, string> },
): [Request, { params: Promise<Record<string, string>> }] {
  const headers: Record<string, string> = { authorization: `Bearer ${init.token}`, [PEER_ADDRESS_HEADER]: init.peer ?? "::ffff:203.0.113.7", ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const params = Object.fromEntries([...path.matchAll(/\/pipelines\/([^/]+)\/validate/g)].map((match) => ["id", match[1]!]));
  return [
    new Request(`http://127.0.0.1/api/v1${path}`, { method: init.method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) }),
    { params: Promise.resolve(params) },
  ];
}

async function rows(): Promise<AuditEntryDto[]> {
  return (await listAuditLog({ limit: 1000 })).items.filter((row) => row.id > baseline);
}

describe("one audit row per change", () => {
  test("a REST write the capability records (job.create) gives exactly one row, with the caller and its address as IPv4", async () => {
    const response = await createJobRoute(
      ...request("/scheduler/jobs", {
        method: "POST",
        token: ADMIN_TOKEN,
        body: { name: "nightly report", pipeline: "system-storage-sample", cron_expr: "0 3 * * *" },
      }),
    );
    expect(response.status).toBe(201);
    const all = await rows();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ action: "job.create", actor: "MIMIR_API_TOKEN (environment)", actor_type: "token", result: "ok", ip: "203.0.113.7" });
  });

  test("a REST write the capability does not record (token.create) gets one row from the route wrapper", async () => {
    const response = await createTokenRoute(...request("/tokens", { method: "POST", token: ADMIN_TOKEN, body: { name: "ci", scope: "read" } }));
    expect(response.status).toBe(201);
    expect((await rows()).map((row) => [row.action, row.result])).toEqual([["token.create", "ok"]]);
  });

  test("turning scheduled backups on gives one row, credited to the caller, none to system", async () => {
    const response = await scheduleRoute(...request("/backups/schedule", { method: "PUT", token: ADMIN_TOKEN, body: { enabled: true } }));
    expect(response.status).toBe(200);
    const all = await rows();
    expect(all.map((row) => [row.action, row.actor])).toEqual([["backup.schedule_on", "MIMIR_API_TOKEN (environment)"]]);
  });

  test("a change made through a service inside a caller's call (what a server action does) gives one row, the caller's", async () => {
    const user = await createUser({ username: "operator", password: "operator-password-long", role: "admin" });
    const principal: Principal = { kind: "user", id: user.id, name: user.username, role: "admin", scope: "admin" };
    const actor = { principal, ip: "::ffff:198.51.100.4", open: true, recorded: false };
    await actingFor(actor, () => createJob({ name: "from the page", pipeline: "system-storage-sample", cron_expr: "0 4 * * *", enabled: true }, principal));
    expect(actor.recorded).toBe(true);
    expect((await rows()).map((row) => [row.action, row.actor, row.ip])).toEqual([["job.create", "operator", "198.51.100.4"]]);
  });

  test("a check sent as POST (pipeline validate) writes no row", async () => {
    const response = await validateRoute(...request("/pipelines/system-storage-sample/validate", { method: "POST", token: ADMIN_TOKEN }));
    expect(response.status).toBe(200);
    expect(await rows()).toEqual([]);
  });
});

describe("refusals cannot flood the table", () => {
  test("200 writes refused to a read token give one row that counts them", async () => {
    for (let i = 0; i < 200; i++) {
      const response = await backupRoute(...request("/backups", { method: "POST", token: READ_TOKEN }));
      expect(response.status).toBe(403);
    }
    const all = await rows();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ actor: "reader", result: "denied", action: "backup.create", details: { count: 200 } });
  });

  test("wrong passwords for names that are no account give one anonymous row a minute per address, never the names typed", async () => {
    await createUser({ username: "admin", password: "the-admin-password", role: "admin" });
    baseline = (await listAuditLog({ limit: 1 })).items[0]?.id ?? 0;
    for (let i = 0; i < 30; i++) {
      await expect(signIn(`flood-${i}`, "x", { ip: "198.51.100.9", userAgent: null })).rejects.toMatchObject({
        code: expect.stringMatching(/unauthorized|rate_limited/),
      });
    }
    const all = await rows();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ actor: "anonymous", actor_type: "anonymous", action: "session.sign_in", result: "denied", ip: "198.51.100.9" });
    expect(JSON.stringify(all)).not.toContain("flood-");
  }, 90_000); // 30 scrypt verifications: about 30 s on a loaded 2-core runner
});

describe("the caller's address", () => {
  test("is the socket's, shown as IPv4 for an IPv4-mapped address; X-Forwarded-For is ignored unless a proxy is trusted", () => {
    const headers = new Headers({ [PEER_ADDRESS_HEADER]: "::ffff:127.0.0.1", "x-forwarded-for": "10.9.9.9" });
    expect(clientAddress(headers)).toBe("127.0.0.1");
    expect(normalizeAddress("2001:db8::1")).toBe("2001:db8::1");
    root.cleanup();
    root = createTestDataRoot({ MIMIR_TRUST_PROXY: "true" });
    expect(clientAddress(new Headers({ [PEER_ADDRESS_HEADER]: "127.0.0.1", "x-forwarded-for": "10.9.9.9, 192.0.2.44" }))).toBe("192.0.2.44");
  });
});
