import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { getOpenApiDocument } from "@/lib/openapi/document";

const API_DIR = path.join(import.meta.dirname, "../../app/api/v1");
const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

interface Operation {
  "x-required-scope"?: string;
  "x-reauth"?: boolean;
  summary?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
}

interface Handler {
  file: string;
  openApiPath: string;
  method: string;
  access: string;
  reauth: boolean;
  takesBody: boolean;
  takesQuery: boolean;
}

/** app/api/v1/[...path] answers unknown paths with 404: no route of its own, so not documented. */
const CATCH_ALL = "[...path]";

function routeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === CATCH_ALL ? [] : routeFiles(full);
    return entry.name === "route.ts" ? [full] : [];
  });
}

/** Every exported handler of every route file under app/api/v1, with what its route() spec declares. */
function handlers(): Handler[] {
  return routeFiles(API_DIR).flatMap((file) => {
    const openApiPath =
      "/api/v1/" +
      path
        .relative(API_DIR, path.dirname(file))
        .split(path.sep)
        .join("/")
        .replace(/\[(\w+)\]/g, "{$1}");
    const source = fs.readFileSync(file, "utf8");
    // Each handler's route() spec is the object literal (without nested braces) it is called with, on
    // one line or, as the formatter may wrap it, on the next.
    const declared = [...source.matchAll(/export const (\w+) = route\(\s*\{([^{}]*)\}/g)].map((match) => {
      const spec = match[2]!;
      const access = /\baccess: "(\w+)"/.exec(spec)?.[1];
      expect(access, `${file} ${match[1]}: access`).toBeDefined();
      return {
        file,
        openApiPath,
        method: match[1]!.toLowerCase(),
        access: access!,
        reauth: /\breauth: true\b/.test(spec),
        // a JSON body, a raw body the handler parses, or an upload streamed to a file
        takesBody: /\bbody: \w/.test(spec) || /\brawBody: true\b/.test(spec) || source.includes("writeRequestBodyToFile("),
        takesQuery: /\bquery: \w/.test(spec),
      };
    });
    // A handler exported any other way would escape the checks below.
    const exported = [...source.matchAll(new RegExp(`export (?:const|async function|function) (${HTTP_METHODS.join("|")})\\b`, "g"))].map((match) =>
      match[1]!.toLowerCase(),
    );
    expect(declared.map((handler) => handler.method).sort(), file).toEqual(exported.sort());
    return declared;
  });
}

describe("OpenAPI document", () => {
  const document = getOpenApiDocument();
  const operation = (openApiPath: string, method: string) => document.paths[openApiPath]?.[method] as Operation | undefined;
  const all = handlers();

  test("finds every route file under app/api/v1", () => {
    expect(new Set(all.map((handler) => handler.file)).size).toBe(routeFiles(API_DIR).length);
    expect(routeFiles(API_DIR).length).toBeGreaterThanOrEqual(55);
  });

  test.each(all.map((handler) => [handler.method.toUpperCase(), handler.openApiPath, handler] as const))(
    "documents %s %s with its scope, reauth, body and query",
    (_, __, handler) => {
      const documented = operation(handler.openApiPath, handler.method);
      expect(documented, `${handler.method} ${handler.openApiPath} is missing from the document`).toBeDefined();
      expect(documented!["x-required-scope"]).toBe(handler.access);
      expect(documented!["x-reauth"] ?? false).toBe(handler.reauth);
      expect(documented!.summary?.includes("X-Mimir-Password") ?? false).toBe(handler.reauth);
      expect(documented!.requestBody !== undefined).toBe(handler.takesBody);
      expect(documented!.parameters?.some((parameter) => parameter.in === "query") ?? false).toBe(handler.takesQuery);
    },
  );

  test("documents nothing that has no route file (no stale paths or methods)", () => {
    const declared = new Set(all.map((handler) => `${handler.method} ${handler.openApiPath}`));
    const documented = Object.entries(document.paths).flatMap(([openApiPath, methods]) => Object.keys(methods).map((method) => `${method} ${openApiPath}`));
    expect(documented.filter((entry) => !declared.has(entry))).toEqual([]);
    expect(documented.length).toBe(all.length);
  });

  test("declares every path template parameter, and no other path parameter", () => {
    for (const [openApiPath, methods] of Object.entries(document.paths)) {
      const names = [...openApiPath.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
      for (const [method, value] of Object.entries(methods)) {
        const pathParameters = ((value as Operation).parameters ?? []).filter((parameter) => parameter.in === "path").map((parameter) => parameter.name);
        expect(pathParameters.sort(), `${method} ${openApiPath}`).toEqual(names);
      }
    }
  });

  test("carries request schemas from zod", () => {
    const post = document.paths["/api/v1/scheduler/jobs"]!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    expect(post.requestBody.content["application/json"]!.schema.required).toEqual(expect.arrayContaining(["name", "pipeline", "cron_expr"]));
    const swap = document.paths["/api/v1/maintenance/recover/swap"]!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    expect(swap.requestBody.content["application/json"]!.schema.required).toEqual(expect.arrayContaining(["operation_id", "confirm"]));
  });

  test("names the content type of each download", () => {
    const contentTypes = (openApiPath: string) =>
      Object.keys((document.paths[openApiPath]!.get as { responses: Record<string, { content?: object }> }).responses["200"]!.content ?? {});
    expect(contentTypes("/api/v1/export/sql")).toEqual(["application/sql"]);
    expect(contentTypes("/api/v1/export/csv/{table}")).toEqual(["text/csv"]);
    expect(contentTypes("/api/v1/jobs/export")).toEqual(["text/csv"]);
    expect(contentTypes("/api/v1/backups/{backupId}/download")).toEqual(["application/x-tar"]);
  });
});

describe("OpenAPI units and access", () => {
  const document = getOpenApiDocument();
  type Schema = { properties: Record<string, { description?: string }> };
  const jsonOf = (openApiPath: string) =>
    (document.paths[openApiPath]!.get as { responses: Record<string, { content: Record<string, { schema: Schema }> }> }).responses["200"]!.content[
      "application/json"
    ]!.schema;

  test("says that an execution's duration is in nanoseconds", () => {
    expect(jsonOf("/api/v1/jobs/{id}").properties.duration!.description).toMatch(/nanoseconds/);
  });

  test("is itself readable without a token", () => {
    expect((document.paths["/api/v1/openapi.json"]!.get as { "x-required-scope": string })["x-required-scope"]).toBe("public");
  });
});
