/**
 * Access control across the whole app, found by scanning, so a route or action added later is
 * covered without touching this file: every `app/**\/route.ts` export and every server action in the
 * build must refuse an anonymous caller (401) and a caller one scope short (403), and every page
 * must send an anonymous visitor to sign in. Runs against the production build (`next build` first).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { callAction, pagePathOf, ROOT_DIR, serverActions, startBuiltServer, type ConsoleServer } from "@/test/helpers/console-server";

/** The only routes anyone may call without credentials. /metrics may opt in (server.metrics_public). */
const PUBLIC_ROUTES = new Set(["/health", "/metrics", "/api/v1/openapi.json"]);
/** Only /health and the API document answer anonymously on this test server: metrics_public is left off. */
const ANONYMOUS_OK = new Set(["/health", "/api/v1/openapi.json"]);
/** Actions that must work before anyone is signed in. */
const PUBLIC_ACTIONS = new Set(["app/login/actions.ts#signInAction", "app/login/actions.ts#setupAction"]);
/** Pages that must open before anyone is signed in. */
const PUBLIC_PAGES = new Set(["/login", "/setup", "/forbidden"]);

/**
 * Destructive and data-exporting work needs admin (issue #7): any DELETE, any route or action whose
 * path or name speaks of restore, reset, delete, download, export or import, and token, user and
 * config management.
 */
const ADMIN_ONLY_ROUTE = /\/(restore|reset|download|export|import|tokens|users|config|audit)(\/|$)/;
const ADMIN_ONLY_ACTION = /^(restore|reset|delete|download|export|import|revoke)|(Token|User|Config)Action$/;

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const SCOPES = ["read", "write", "admin"] as const;
type Scope = (typeof SCOPES)[number];
type Access = "public" | Scope;

const ADMIN_TOKEN = `mimir_${"a".repeat(43)}`;
const ADMIN_PASSWORD = "access-test-admin-password";
const VIEWER_PASSWORD = "access-test-viewer-password";

function walk(dir: string, match: (file: string) => boolean): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full, match);
    return match(full) ? [full] : [];
  });
}

interface RouteCase {
  file: string;
  path: string;
  method: string;
  access: Access | null;
}

/** Every exported HTTP method of every route file, with the access it declares through route(). */
function routeCases(): RouteCase[] {
  return walk(path.join(ROOT_DIR, "app"), (file) => /\/route\.(ts|tsx|js)$/.test(file)).flatMap((file) => {
    const source = fs.readFileSync(file, "utf8");
    const relative = path.relative(path.join(ROOT_DIR, "app"), path.dirname(file));
    const urlPath =
      "/" +
      relative
        .split(path.sep)
        .filter((segment) => segment && !/^\(.*\)$/.test(segment))
        .map((segment) => (/^\[.*\]$/.test(segment) ? "access-test-id" : segment))
        .join("/");
    return METHODS.filter((method) => new RegExp(`export\\s+(const|async\\s+function|function)\\s+${method}\\b`).test(source)).map((method) => {
      const declared = new RegExp(`export\\s+const\\s+${method}\\s*=\\s*route\\(\\s*\\{[^}]*?access:\\s*"(public|read|write|admin)"`, "s").exec(source);
      return { file: path.relative(ROOT_DIR, file), path: urlPath, method, access: (declared?.[1] as Access | undefined) ?? null };
    });
  });
}

/** Every server action in the build, with the access its defineAction declares. */
function actionCases() {
  return serverActions().map((action) => {
    const source = fs.readFileSync(path.join(ROOT_DIR, action.filename), "utf8");
    const declared = new RegExp(`export\\s+const\\s+${action.exportedName}\\s*=\\s*defineAction\\(\\s*"(public|read|write|admin)"`).exec(source);
    return {
      ...action,
      key: `${action.filename}#${action.exportedName}`,
      access: (declared?.[1] as Access | undefined) ?? null,
      page: pagePathOf(action.workers[0]!),
    };
  });
}

const below = (scope: Scope): Scope | null => (scope === "read" ? null : SCOPES[SCOPES.indexOf(scope) - 1]!);

/** The database's content outside the tables that legitimately change on a refused request. */
function databaseDump(home: string): string {
  const tables = execFileSync("sqlite3", [path.join(home, "data", "mimir.db"), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"], {
    encoding: "utf8",
  })
    .split("\n")
    // instances: each live server renews its lease there every few seconds, whatever callers do.
    .filter((name) => name && !["audit_log", "sessions", "api_tokens", "instances"].includes(name));
  return tables
    .map((table) => execFileSync("sqlite3", [path.join(home, "data", "mimir.db"), `SELECT * FROM "${table}" ORDER BY 1`], { encoding: "utf8" }))
    .join("\n");
}

let server: ConsoleServer;
const tokens: Partial<Record<Scope, string>> = { admin: ADMIN_TOKEN };
let viewerCookie = "";
let adminCookie = "";

async function api(method: string, urlPath: string, init: { token?: string; cookie?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.cookie) headers.Cookie = init.cookie;
  if (method !== "GET") headers["Content-Type"] = "application/json";
  return fetch(`${server.url}${urlPath}`, { method, headers, redirect: "manual", body: method === "GET" ? undefined : JSON.stringify(init.body ?? {}) });
}

async function signIn(username: string, password: string): Promise<string> {
  const action = actionCases().find((a) => a.exportedName === "signInAction")!;
  const { result, setCookie } = await callAction(server.url, "/login", action.id, { username, password });
  expect(result?.ok, `sign-in of ${username}`).toBe(true);
  return setCookie.map((cookie) => cookie.split(";")[0]).join("; ");
}

beforeAll(async () => {
  server = await startBuiltServer({ MIMIR_ADMIN_PASSWORD: ADMIN_PASSWORD, MIMIR_API_TOKEN: ADMIN_TOKEN });
  for (const scope of ["read", "write"] as const) {
    const response = await api("POST", "/api/v1/tokens", { token: ADMIN_TOKEN, body: { name: `access-${scope}`, scope } });
    expect(response.status).toBe(201);
    tokens[scope] = ((await response.json()) as { token: string }).token;
  }
  expect((await api("POST", "/api/v1/users", { token: ADMIN_TOKEN, body: { username: "viewer", password: VIEWER_PASSWORD, role: "viewer" } })).status).toBe(
    201,
  );
  viewerCookie = await signIn("viewer", VIEWER_PASSWORD);
  adminCookie = await signIn("admin", ADMIN_PASSWORD);
});

afterAll(async () => {
  await server?.stop();
});

describe("route handlers", () => {
  const cases = routeCases();

  test("the scan finds the routes, and every exported method goes through route() with a declared access", () => {
    expect(cases.length).toBeGreaterThan(5);
    const undeclared = cases.filter((c) => c.access === null).map((c) => `${c.method} ${c.file}`);
    expect(undeclared, "methods not wrapped in route({ access })").toEqual([]);
    const publicOnes = cases.filter((c) => c.access === "public" && !PUBLIC_ROUTES.has(c.path)).map((c) => `${c.method} ${c.path}`);
    expect(publicOnes, "public routes outside the allow-list").toEqual([]);
    const weak = cases
      .filter((c) => (c.method === "DELETE" || ADMIN_ONLY_ROUTE.test(c.path)) && c.access !== "admin")
      .map((c) => `${c.method} ${c.path} (${c.access})`);
    expect(weak, "destructive or data-exporting routes that do not require admin").toEqual([]);
  });

  test("an anonymous caller, a bad token and a spoofed middleware header all get 401, and nothing changes", async () => {
    const before = databaseDump(server.home);
    const failures: string[] = [];
    for (const c of cases) {
      if (ANONYMOUS_OK.has(c.path)) continue;
      for (const [label, init] of [
        ["anonymous", {}],
        ["bad token", { token: `mimir_${"z".repeat(43)}` }],
        ["not our token format", { token: "abc" }],
        ["x-middleware-subrequest", { headers: { "x-middleware-subrequest": "middleware:middleware:middleware:middleware:middleware" } }],
        // A bearer header is the only credential looked at when present: a valid cookie does not rescue a bad token.
        ["bad token beside an admin cookie", { token: `mimir_${"y".repeat(43)}`, cookie: adminCookie }],
      ] as const) {
        const response = await api(c.method, c.path, init);
        if (response.status !== 401) failures.push(`${label}: ${c.method} ${c.path} → ${response.status}`);
        const body = (await response.json().catch(() => null)) as { error?: { code?: string } } | null;
        if (response.status === 401 && body?.error?.code !== "unauthorized") failures.push(`${label}: ${c.method} ${c.path} has no error envelope`);
      }
    }
    expect(failures).toEqual([]);
    expect(databaseDump(server.home)).toBe(before);
  });

  test("a caller one scope short gets 403 on every route, and a read token on every write", async () => {
    const failures: string[] = [];
    for (const c of cases) {
      if (c.access === "public" || c.access === null) continue;
      const short = below(c.access);
      if (short) {
        const response = await api(c.method, c.path, { token: tokens[short] });
        if (response.status !== 403) failures.push(`${short} token: ${c.method} ${c.path} (needs ${c.access}) → ${response.status}`);
      }
      if (c.method !== "GET") {
        const response = await api(c.method, c.path, { token: tokens.read });
        if (response.status !== 403) failures.push(`read token: ${c.method} ${c.path} → ${response.status}`);
        const viewer = await api(c.method, c.path, { cookie: viewerCookie, headers: { Origin: server.url, "Sec-Fetch-Site": "same-origin" } });
        if (viewer.status !== 403) failures.push(`viewer session: ${c.method} ${c.path} → ${viewer.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("an admin token is let through every route (no 401 or 403)", async () => {
    const failures: string[] = [];
    for (const c of cases.filter((c) => c.method === "GET")) {
      const response = await api("GET", c.path, { token: ADMIN_TOKEN });
      if (response.status === 401 || response.status === 403) failures.push(`${c.path} → ${response.status}`);
    }
    expect(failures).toEqual([]);
  });

  test("every write refuses a body over its limit with 413 and the error envelope", async () => {
    const oversized = "x".repeat(2 * 1024 * 1024);
    const failures: string[] = [];
    for (const c of cases.filter((c) => c.method !== "GET" && c.access !== "public")) {
      // Upload routes name a larger limit of their own; they carry their own size tests.
      if (/maxBodyBytes/.test(fs.readFileSync(path.join(ROOT_DIR, c.file), "utf8"))) continue;
      const response = await fetch(`${server.url}${c.path}`, {
        method: c.method,
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
        body: oversized,
      });
      const body = (await response.json().catch(() => null)) as { error?: { code?: string } } | null;
      if (response.status !== 413 || body?.error?.code !== "body_too_large") failures.push(`${c.method} ${c.path} → ${response.status}`);
    }
    expect(failures).toEqual([]);
  });

  test("/health answers anonymously and reveals no secret", async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of [ADMIN_PASSWORD, ADMIN_TOKEN, tokens.read!, VIEWER_PASSWORD]) expect(text).not.toContain(secret);
  });

  test("/health tells an anonymous caller the guide's document and reason codes only; a read token or a viewer's session the whole report", async () => {
    const isPublic = (body: Record<string, unknown>) => {
      expect(Object.keys(body).sort()).toEqual(["persistence", "reason_codes", "status", "time"]);
      expect(body.persistence).toEqual({ status: expect.any(String), backend: "sqlite", path: "./data/mimir.db" });
      const text = JSON.stringify(body);
      // No absolute path (every string value that starts with "/"), no sizes, no alert or error text.
      expect(text).not.toMatch(/"\/[^"]*"/);
      expect(text).not.toMatch(/free_bytes|total_bytes|reasons"|storage_alerts|error/);
    };
    const anonymous = await api("GET", "/health");
    expect(anonymous.status).toBe(200);
    isPublic(await anonymous.json());
    // A bad token is treated as no token: probes must keep their answer, and it reveals no more.
    const badToken = await api("GET", "/health", { token: `mimir_${"b".repeat(43)}` });
    expect(badToken.status).toBe(200);
    isPublic(await badToken.json());

    for (const caller of [{ token: tokens.read }, { cookie: viewerCookie }]) {
      const response = await api("GET", "/health", caller);
      expect(response.status).toBe(200);
      const full = await response.json();
      expect(full).toMatchObject({
        persistence: { path: path.join(server.home, "data", "mimir.db") },
        disk: { free_bytes: expect.any(Number), total_bytes: expect.any(Number) },
        reasons: expect.any(Array),
      });
    }
  });
});

describe("server actions", () => {
  const cases = actionCases();

  test("the build has actions, and each is defined through defineAction with a declared access", () => {
    expect(cases.length).toBeGreaterThan(3);
    expect(
      cases.filter((c) => c.access === null).map((c) => c.key),
      "actions not wrapped in defineAction(access, …)",
    ).toEqual([]);
    expect(
      cases.filter((c) => c.access === "public" && !PUBLIC_ACTIONS.has(c.key)).map((c) => c.key),
      "public actions outside the allow-list",
    ).toEqual([]);
    const weak = cases.filter((c) => ADMIN_ONLY_ACTION.test(c.exportedName) && c.access !== "admin").map((c) => `${c.key} (${c.access})`);
    expect(weak, "destructive or data-exporting actions that do not require admin").toEqual([]);
  });

  test("every non-public action refuses an anonymous caller (unauthorized) and a viewer when it needs more (forbidden)", async () => {
    const failures: string[] = [];
    for (const c of cases) {
      if (c.access === "public" || c.access === null) continue;
      const anonymous = await callAction(server.url, c.page, c.id, {});
      if (anonymous.result?.error?.code !== "unauthorized") failures.push(`anonymous: ${c.key} → ${anonymous.status} ${JSON.stringify(anonymous.result)}`);
      if (c.access !== "read") {
        const viewer = await callAction(server.url, c.page, c.id, {}, { Cookie: viewerCookie });
        if (viewer.result?.error?.code !== "forbidden") failures.push(`viewer: ${c.key} → ${viewer.status} ${JSON.stringify(viewer.result)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("an action call with a foreign, null or missing Origin is refused even with an admin session", async () => {
    const failures: string[] = [];
    for (const c of cases) {
      for (const [label, headers] of [
        ["foreign Origin", { Origin: "http://127.0.0.1:1" }],
        ["null Origin", { Origin: "null" }],
        ["no Origin", { Origin: "" }],
      ] as const) {
        const response = await callAction(server.url, c.page, c.id, {}, { Cookie: adminCookie, ...headers });
        const refused = response.status >= 400 || response.result?.error?.code === "csrf_rejected";
        if (!refused) failures.push(`${label}: ${c.key} → ${response.status} ${JSON.stringify(response.result)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("headers and cookies", () => {
  test("pages and API answers carry the security headers; HSTS and Secure cookies only under TLS", async () => {
    for (const target of ["/login", "/health", "/api/v1/operations"]) {
      const response = await fetch(`${server.url}${target}`, { redirect: "manual" });
      const csp = response.headers.get("content-security-policy") ?? "";
      for (const directive of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) expect(csp, target).toContain(directive);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("same-origin");
      expect(response.headers.get("strict-transport-security")).toBeNull();
      const overTls = await fetch(`${server.url}${target}`, { redirect: "manual", headers: { "X-Forwarded-Proto": "https" } });
      expect(overTls.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
    }
    const action = actionCases().find((a) => a.exportedName === "signInAction")!;
    const plain = await callAction(server.url, "/login", action.id, { username: "admin", password: ADMIN_PASSWORD });
    expect(plain.setCookie[0]).toMatch(/HttpOnly/i);
    expect(plain.setCookie[0]).toMatch(/SameSite=strict/i);
    expect(plain.setCookie[0]).not.toMatch(/;\s*Secure/i);
    expect(plain.setCookie[0]).toMatch(/^mimir_session=/);
    const tls = await callAction(server.url, "/login", action.id, { username: "admin", password: ADMIN_PASSWORD }, { "X-Forwarded-Proto": "https" });
    // Over https the __Host- name: the browser holds it to Secure, path / and this host (no Domain).
    const prefixed = tls.setCookie.find((cookie) => cookie.startsWith("__Host-mimir_session="));
    expect(prefixed).toMatch(/;\s*Secure/i);
    expect(prefixed).toMatch(/;\s*Path=\/(;|$)/i);
    expect(prefixed).not.toMatch(/;\s*Domain=/i);
  });
});

describe("pages", () => {
  test("every page sends an anonymous visitor to sign in, with the page as the way back", async () => {
    const pages = walk(path.join(ROOT_DIR, "app"), (file) => /\/page\.tsx$/.test(file))
      .map((file) => pagePathOf(path.relative(ROOT_DIR, file).replace(/\.tsx$/, "")))
      .filter((page) => !PUBLIC_PAGES.has(page) && !page.includes("["));
    expect(pages.length).toBeGreaterThan(3);
    const failures: string[] = [];
    for (const page of pages) {
      const response = await fetch(`${server.url}${page}`, { redirect: "manual" });
      const location = response.headers.get("location") ?? "";
      if (response.status < 300 || response.status >= 400 || location !== (page === "/" ? "/login" : `/login?next=${encodeURIComponent(page)}`))
        failures.push(`${page} → ${response.status} ${location}`);
    }
    expect(failures).toEqual([]);
  });
});
