import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { json, route } from "@/lib/http";
import { newApiTokenValue, seedCredentialsFromEnvironment, signIn } from "@/lib/auth/service";
import { upsertToken } from "@/lib/auth/queries";
import { hashSecret } from "@/lib/auth/passwords";
import { nowIso } from "@/lib/db/timestamps";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { drainWrites, freezeWrites, thawWrites } from "@/lib/db/write-freeze";
import { findLiveToken } from "@/lib/auth/queries";

let root: TestDataRoot;
const adminToken = newApiTokenValue();
const readToken = newApiTokenValue();
let sessionCookie: string;

beforeAll(async () => {
  root = createTestDataRoot({ MIMIR_API_TOKEN: adminToken, MIMIR_ADMIN_PASSWORD: "a-long-admin-password" });
  await seedCredentialsFromEnvironment(root.config);
  await upsertToken({ id: "read-token", name: "reader", tokenHash: hashSecret(readToken), prefix: readToken.slice(0, 10), scope: "read", createdAt: nowIso() });
  const session = await signIn("admin", "a-long-admin-password", { ip: null, userAgent: null });
  sessionCookie = `mimir_session=${session.sessionToken}`;
});
afterAll(() => root.cleanup());

const ctx = { params: Promise.resolve({}) };
const call = (handler: ReturnType<typeof route>, init: RequestInit = {}, url = "http://localhost/api/v1/test") => handler(new Request(url, init), ctx);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const readRoute = route({ access: "read" }, () => ({ ok: true }));
const writeRoute = route({ access: "write", body: z.object({ name: z.string().min(1), count: z.number().int() }) }, ({ body }) => body);

describe("route wrapper", () => {
  it("refuses changes with 503 migrating while writes are frozen for a switch to PostgreSQL; reads and whileMigrating routes still work", async () => {
    const cancelRoute = route({ access: "write", whileMigrating: true }, () => ({ cancelled: true }));
    freezeWrites("The console is copying its database to PostgreSQL");
    try {
      const refused = await call(writeRoute, { method: "POST", headers: bearer(adminToken), body: JSON.stringify({ name: "a", count: 2 }) });
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({ error: { code: "migrating", message: "The console is copying its database to PostgreSQL" } });
      expect((await call(readRoute, { headers: bearer(readToken) })).status).toBe(200);
      expect((await call(cancelRoute, { method: "POST", headers: bearer(adminToken) })).status).toBe(200);
      // Authentication still comes first: an anonymous change is a 401, not a hint about the migration.
      expect((await call(writeRoute, { method: "POST", body: "{}" })).status).toBe(401);
    } finally {
      thawWrites();
    }
    expect((await call(writeRoute, { method: "POST", headers: bearer(adminToken), body: JSON.stringify({ name: "a", count: 2 }) })).status).toBe(200);
  });

  it("a change admitted before the freeze finishes and is waited for; one arriving after, public ones (sign-in) too, is refused", async () => {
    let reached!: () => void;
    const inHandler = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const token = newApiTokenValue();
    const slowRoute = route({ access: "write" }, async () => {
      reached();
      await released;
      // Written after the freeze began: it passes, because the request was admitted before.
      await upsertToken({ id: "admitted", name: "admitted", tokenHash: hashSecret(token), prefix: token.slice(0, 10), scope: "read", createdAt: nowIso() });
      return { written: true };
    });
    const publicRoute = route({ access: "public" }, () => ({ signedIn: true }));
    const pending = call(slowRoute, { method: "POST", headers: bearer(adminToken) });
    await inHandler;
    freezeWrites("The console is copying its database to PostgreSQL");
    try {
      let drained = false;
      const drain = drainWrites(10_000).then(() => (drained = true));
      const refused = await call(publicRoute, { method: "POST", body: "{}" });
      expect(refused.status).toBe(503);
      expect((await refused.json()).error.code).toBe("migrating");
      expect(drained).toBe(false);
      release();
      expect(await (await pending).json()).toEqual({ written: true });
      await drain;
      expect(drained).toBe(true);
      expect(await findLiveToken(hashSecret(token), nowIso())).toBeTruthy();
    } finally {
      thawWrites();
    }
    expect((await call(publicRoute, { method: "POST", body: "{}" })).status).toBe(200);
  });

  it("refuses an anonymous caller with 401 and the error envelope", async () => {
    const response = await call(readRoute);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
    expect(await response.json()).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("Bearer") } });
  });

  it("refuses an unknown or malformed token with 401", async () => {
    expect((await call(readRoute, { headers: bearer("mimir_nope") })).status).toBe(401);
    expect((await call(readRoute, { headers: { authorization: "Basic abc" } })).status).toBe(401);
  });

  it("refuses an under-scoped token with 403 and names the scope", async () => {
    const response = await call(writeRoute, { method: "POST", headers: bearer(readToken), body: "{}" });
    expect(response.status).toBe(403);
    expect((await response.json()).error.message).toContain("'write'");
  });

  it("lets a token with enough scope through", async () => {
    expect((await call(readRoute, { headers: bearer(readToken) })).status).toBe(200);
    const response = await call(writeRoute, { method: "POST", headers: bearer(adminToken), body: JSON.stringify({ name: "a", count: 2 }) });
    expect(await response.json()).toEqual({ name: "a", count: 2 });
  });

  it("never falls back to the cookie when a bearer header is present", async () => {
    const response = await call(readRoute, { headers: { ...bearer("mimir_wrong"), cookie: sessionCookie } });
    expect(response.status).toBe(401);
  });

  it.each([
    ["not JSON", "{name:", "invalid_json"],
    ["empty", "", "invalid_json"],
    ["wrong types", JSON.stringify({ name: 3, count: "x" }), "invalid_input"],
  ])("answers 400 for a body that is %s", async (_label, body, code) => {
    const response = await call(writeRoute, { method: "POST", headers: bearer(adminToken), body });
    expect(response.status).toBe(400);
    const json = await response.json();
    expect(json.error.code).toBe(code);
    if (code === "invalid_input") expect(json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["count", "name"]);
  });

  it("answers 400 for a JSON body nested too deep (it used to be a 500), and takes ordinary nesting", async () => {
    const echo = route({ access: "write", body: z.object({ context: z.unknown() }) }, ({ body }) => body);
    const deep = `{"context": ${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const response = await call(echo, { method: "POST", headers: bearer(adminToken), body: deep });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toEqual({ code: "invalid_json", message: expect.stringContaining("nests more than 64 levels") });
    const ordinary = { context: { a: [[1, 2], { b: [3] }] } };
    expect(await (await call(echo, { method: "POST", headers: bearer(adminToken), body: JSON.stringify(ordinary) })).json()).toEqual(ordinary);
  });

  it("answers 413 for a body over the limit, declared or not", async () => {
    const big = JSON.stringify({ name: "x".repeat(2 * 1024 * 1024), count: 1 });
    expect((await call(writeRoute, { method: "POST", headers: { ...bearer(adminToken), "content-length": String(big.length) }, body: big })).status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await call(writeRoute, { method: "POST", headers: bearer(adminToken), body: stream, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
  });

  it("refuses a cookie-authenticated write from another site, and allows the same site", async () => {
    const body = JSON.stringify({ name: "a", count: 1 });
    const crossSite = await call(writeRoute, { method: "POST", headers: { cookie: sessionCookie, "sec-fetch-site": "cross-site" }, body });
    expect(crossSite.status).toBe(403);
    expect((await crossSite.json()).error.code).toBe("csrf_rejected");
    const foreignOrigin = await call(writeRoute, {
      method: "POST",
      headers: { cookie: sessionCookie, origin: "http://evil.example", host: "localhost" },
      body,
    });
    expect(foreignOrigin.status).toBe(403);
    const noOrigin = await call(writeRoute, { method: "POST", headers: { cookie: sessionCookie }, body });
    expect(noOrigin.status).toBe(403);
    const sameSite = await call(writeRoute, { method: "POST", headers: { cookie: sessionCookie, "sec-fetch-site": "same-origin" }, body });
    expect(sameSite.status).toBe(200);
  });

  it("maps AppError codes to their status and hides internal errors", async () => {
    const conflict = route({ access: "public" }, () => {
      throw new AppError("invalid_cron", "cron_expr: field 'hour' out of range");
    });
    const response = await call(conflict);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toEqual({ code: "invalid_cron", message: "cron_expr: field 'hour' out of range" });
    const crash = route({ access: "public" }, () => {
      throw new Error("secret internals at /srv/x");
    });
    const crashed = await call(crash);
    expect(crashed.status).toBe(500);
    expect(JSON.stringify(await crashed.json())).not.toContain("secret internals");
  });

  it("marks every answer, success or refusal, Cache-Control: no-store unless the route set its own", async () => {
    expect((await call(readRoute, { headers: bearer(readToken) })).headers.get("cache-control")).toBe("no-store");
    expect((await call(readRoute)).headers.get("cache-control")).toBe("no-store");
    const created = route({ access: "write" }, () => json({ token: "mimir_secret" }, 201));
    expect((await call(created, { method: "POST", headers: bearer(adminToken) })).headers.get("cache-control")).toBe("no-store");
    const cached = route({ access: "public" }, () => new Response("x", { headers: { "Cache-Control": "public, max-age=60" } }));
    expect((await call(cached)).headers.get("cache-control")).toBe("public, max-age=60");
    const redirect = route({ access: "public" }, () => Response.redirect("http://localhost/elsewhere", 303));
    expect((await call(redirect)).headers.get("cache-control")).toBe("no-store");
  });

  it("validates path parameters and query strings", async () => {
    const withParams = route(
      { access: "public", params: z.object({ id: z.string().regex(/^[a-z0-9-]+$/) }), query: z.object({ limit: z.coerce.number().max(10) }) },
      ({ params, query }) => ({ ...params, ...query }),
    );
    const bad = await withParams(new Request("http://localhost/x?limit=5"), { params: Promise.resolve({ id: "../etc" }) });
    expect(bad.status).toBe(400);
    const good = await withParams(new Request("http://localhost/x?limit=5"), { params: Promise.resolve({ id: "job-1" }) });
    expect(await good.json()).toEqual({ id: "job-1", limit: 5 });
  });
});
