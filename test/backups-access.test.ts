// Every backups route refuses an anonymous caller (401) and a caller below its scope (403), and
// changes nothing doing so. The table must name every route file: a new route without an entry fails.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createUser, signIn, SESSION_COOKIE } from "@/lib/auth/service";
import type { Scope } from "@/lib/auth/scopes";

type Handlers = Record<string, (request: Request, context: unknown) => Promise<Response>>;

/** Route files by path under app/api/v1/backups, imported statically so the bundler sees each one. */
const MODULES: Record<string, () => Promise<unknown>> = {
  "route.ts": () => import("@/app/api/v1/backups/route"),
  "[backupId]/route.ts": () => import("@/app/api/v1/backups/[backupId]/route"),
  "[backupId]/verify/route.ts": () => import("@/app/api/v1/backups/[backupId]/verify/route"),
  "[backupId]/restore/route.ts": () => import("@/app/api/v1/backups/[backupId]/restore/route"),
  "[backupId]/pin/route.ts": () => import("@/app/api/v1/backups/[backupId]/pin/route"),
  "[backupId]/download/route.ts": () => import("@/app/api/v1/backups/[backupId]/download/route"),
  "[backupId]/copy/route.ts": () => import("@/app/api/v1/backups/[backupId]/copy/route"),
  "import/route.ts": () => import("@/app/api/v1/backups/import/route"),
  "prune/route.ts": () => import("@/app/api/v1/backups/prune/route"),
  "schedule/route.ts": () => import("@/app/api/v1/backups/schedule/route"),
};

const ROUTES: { file: string; method: string; scope: Scope }[] = [
  { file: "route.ts", method: "GET", scope: "read" },
  { file: "route.ts", method: "POST", scope: "write" },
  { file: "[backupId]/route.ts", method: "GET", scope: "read" },
  { file: "[backupId]/route.ts", method: "DELETE", scope: "admin" },
  { file: "[backupId]/verify/route.ts", method: "POST", scope: "write" },
  { file: "[backupId]/restore/route.ts", method: "POST", scope: "admin" },
  { file: "[backupId]/pin/route.ts", method: "PUT", scope: "admin" },
  { file: "[backupId]/download/route.ts", method: "GET", scope: "admin" },
  { file: "[backupId]/copy/route.ts", method: "POST", scope: "write" },
  { file: "import/route.ts", method: "POST", scope: "admin" },
  { file: "prune/route.ts", method: "POST", scope: "admin" },
  { file: "schedule/route.ts", method: "GET", scope: "read" },
  { file: "schedule/route.ts", method: "PUT", scope: "admin" },
];
const ROUTES_FOLDER = "app/api/v1/backups";

let root: TestDataRoot;
let viewerCookie: string;

beforeAll(async () => {
  root = createTestDataRoot();
  await createUser({ username: "viewer", password: "viewer-password-0001", role: "viewer" });
  viewerCookie = `${SESSION_COOKIE}=${(await signIn("viewer", "viewer-password-0001", { ip: null, userAgent: null })).sessionToken}`;
});
afterAll(() => root.cleanup());

function routeFiles(folder: string, relative = ""): string[] {
  return fs.readdirSync(path.join(folder, relative), { withFileTypes: true }).flatMap((entry) => {
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    return entry.isDirectory() ? routeFiles(folder, name) : entry.name === "route.ts" ? [name] : [];
  });
}

test("the table lists every backups route file", () => {
  expect([...new Set(ROUTES.map((r) => r.file))].sort()).toEqual(routeFiles(ROUTES_FOLDER).sort());
  expect(Object.keys(MODULES).sort()).toEqual(routeFiles(ROUTES_FOLDER).sort());
});

test.each(ROUTES)("$method $file refuses anonymous callers and callers below the $scope scope", async ({ file, method, scope }) => {
  const handlers = (await MODULES[file]!()) as Handlers;
  const handler = handlers[method]!;
  const url = `http://127.0.0.1/api/v1/backups/${file.replace("route.ts", "").replace("[backupId]", "20250101-000000")}`;
  const context = { params: Promise.resolve({ backupId: "20250101-000000" }) };
  const body = method === "GET" ? undefined : JSON.stringify({ confirm: "20250101-000000", dry_run: true, pinned: true });
  const before = fs.readdirSync(root.config.paths.backups);

  const anonymous = await handler(new Request(url, { method, body, headers: { "content-type": "application/json" } }), context);
  expect(anonymous.status).toBe(401);
  expect((await anonymous.json()).error.code).toBe("unauthorized");

  const viewer = await handler(
    new Request(url, { method, body, headers: { "content-type": "application/json", cookie: viewerCookie, origin: "http://127.0.0.1" } }),
    context,
  );
  if (scope === "read") expect(viewer.status).not.toBe(403);
  else {
    expect(viewer.status).toBe(403);
    expect((await viewer.json()).error.code).toBe("forbidden");
  }
  expect(fs.readdirSync(root.config.paths.backups)).toEqual(before);
});
