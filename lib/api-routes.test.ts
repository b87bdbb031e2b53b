import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { allowedMethods, apiRouteOf, API_ROUTE_METHODS } from "@/lib/api-routes";

const API_DIR = path.join(import.meta.dirname, "../app/api/v1");
/** Answers unknown paths; not a route of its own. */
const CATCH_ALL = "[...path]";

function routeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === CATCH_ALL ? [] : routeFiles(full);
    return entry.name === "route.ts" ? [full] : [];
  });
}

describe("the proxy's table of API methods", () => {
  test("lists exactly the methods every route file exports (add a new route or method here too)", () => {
    const fromFiles = Object.fromEntries(
      routeFiles(API_DIR).map((file) => {
        const template =
          "/api/v1/" +
          path
            .relative(API_DIR, path.dirname(file))
            .split(path.sep)
            .join("/")
            .replace(/\[(\w+)\]/g, "{$1}");
        const source = fs.readFileSync(file, "utf8");
        const methods = [...source.matchAll(/export (?:const|async function|function) (GET|POST|PUT|PATCH|DELETE)\b/g)].map((match) => match[1]!).sort();
        return [template, methods];
      }),
    );
    const table = Object.fromEntries(Object.entries(API_ROUTE_METHODS).map(([template, methods]) => [template, [...methods].sort()]));
    expect(table).toEqual(fromFiles);
  });

  test.each([
    ["/api/v1/scheduler/jobs", ["GET", "POST", "HEAD", "OPTIONS"]],
    ["/api/v1/scheduler/jobs/", ["GET", "POST", "HEAD", "OPTIONS"]],
    ["/api/v1/scheduler/jobs/abc", ["DELETE", "GET", "PUT", "HEAD", "OPTIONS"]],
    // a literal segment beats a parameter, as in Next.js's router
    ["/api/v1/pipelines/execute", ["POST", "OPTIONS"]],
    ["/api/v1/jobs/running", ["GET", "HEAD", "OPTIONS"]],
    ["/api/v1/nothing", null],
    ["/api/v1/scheduler/jobs/a/b/c", null],
  ])("%s answers %j", (pathname, expected) => {
    expect(allowedMethods(pathname)).toEqual(expected);
  });
});

describe("apiRouteOf", () => {
  test.each([
    ["/api/v1/jobs", { template: "/api/v1/jobs", params: {} }],
    ["/api/v1/jobs/abc-1", { template: "/api/v1/jobs/{id}", params: { id: "abc-1" } }],
    // a literal segment beats a parameter, as in Next.js's router
    ["/api/v1/jobs/running", { template: "/api/v1/jobs/running", params: {} }],
    [
      "/api/v1/destinations/d1/sets/b2/pull",
      { template: "/api/v1/destinations/{destinationId}/sets/{backupId}/pull", params: { destinationId: "d1", backupId: "b2" } },
    ],
    ["/api/v1/nothing", null],
  ])("%s is %j", (pathname, expected) => {
    const route = apiRouteOf(pathname);
    expect(route && { template: route.template, params: route.params }).toEqual(expected);
  });
});
