import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createUser, signIn, SESSION_COOKIE } from "@/lib/auth/service";
import { getOpenApiDocument } from "@/lib/openapi/document";

/**
 * Every route in the document (which the document test ties to every route file) refuses an anonymous
 * caller with 401, and a viewer (read scope) with 403 unless it only reads. Nothing is changed either way.
 */
let root: TestDataRoot;
let viewerCookie: string;
const BASE = "http://127.0.0.1:3000";

beforeAll(async () => {
  root = createTestDataRoot();
  await createUser({ username: "viewer", password: "viewer-password-0001", role: "viewer" });
  viewerCookie = `${SESSION_COOKIE}=${(await signIn("viewer", "viewer-password-0001", { ip: null, userAgent: null })).sessionToken}`;
});
afterAll(() => root.cleanup());

const operations = Object.entries(getOpenApiDocument().paths).flatMap(([openApiPath, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ openApiPath, method: method.toUpperCase(), scope: (operation as { "x-required-scope": string })["x-required-scope"] })),
);

async function call(openApiPath: string, method: string, headers: Record<string, string>) {
  const file = path.join(import.meta.dirname, "../../app", openApiPath.replace(/\{(\w+)\}/g, "[$1]"), "route.ts");
  const handlers = (await import(file)) as Record<string, (request: Request, context: unknown) => Promise<Response>>;
  const params = Object.fromEntries([...openApiPath.matchAll(/\{(\w+)\}/g)].map((match) => [match[1]!, "some-id"]));
  const url = `${BASE}${openApiPath.replace(/\{(\w+)\}/g, "some-id")}`;
  const request = new Request(url, { method, headers: { Origin: BASE, "Content-Type": "application/json", ...headers }, body: method === "GET" ? undefined : JSON.stringify({ name: "x" }) });
  return handlers[method]!(request, { params: Promise.resolve(params) });
}

describe("access", () => {
  test.each(operations)("$method $openApiPath refuses an anonymous caller", async ({ openApiPath, method }) => {
    const response = await call(openApiPath, method, {});
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe("unauthorized");
  });

  test.each(operations.filter((operation) => operation.scope !== "read"))("$method $openApiPath ($scope) refuses a viewer", async ({ openApiPath, method }) => {
    const response = await call(openApiPath, method, { Cookie: viewerCookie });
    expect(response.status).toBe(403);
  });
});
