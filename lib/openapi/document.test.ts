import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { getOpenApiDocument } from "@/lib/openapi/document";

/** Route files of the capabilities registered in the document, mapped to their OpenAPI paths. */
function routeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? routeFiles(full) : entry.name === "route.ts" ? [full] : [];
  });
}

describe("OpenAPI document", () => {
  test("documents every method of every scheduler, pipeline, history, log and backup route, with the scope it requires", () => {
    const document = getOpenApiDocument();
    const api = path.join(import.meta.dirname, "../../app/api/v1");
    const files = ["scheduler", "pipelines", "jobs", "logs", "backups"].flatMap((group) => routeFiles(path.join(api, group)));
    expect(files.length).toBeGreaterThan(15);
    for (const file of files) {
      const openApiPath = "/api/v1/" + path.relative(api, path.dirname(file)).replace(/\[(\w+)\]/g, "{$1}");
      const source = fs.readFileSync(file, "utf8");
      // Each handler's declared access, as route() receives it: the document must state the same scope.
      const handlers = [...source.matchAll(/export const (GET|POST|PUT|DELETE) = route\(\{ access: "(\w+)"/g)].map((match) => [match[1]!.toLowerCase(), match[2]!] as const);
      expect(handlers.length, file).toBe([...source.matchAll(/export const (GET|POST|PUT|DELETE)\b/g)].length);
      for (const [method, access] of handlers) {
        const operation = document.paths[openApiPath]?.[method] as { "x-required-scope"?: string } | undefined;
        expect(operation, `${method} ${openApiPath}`).toBeDefined();
        expect(operation?.["x-required-scope"], `${method} ${openApiPath}`).toBe(access);
      }
    }
  });

  test("carries request schemas from zod", () => {
    const post = getOpenApiDocument().paths["/api/v1/scheduler/jobs"]!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    expect(post.requestBody.content["application/json"]!.schema.required).toEqual(expect.arrayContaining(["name", "pipeline", "cron_expr"]));
  });
});
