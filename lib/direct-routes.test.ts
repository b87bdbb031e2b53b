import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { directRouteOf, nextInternals } from "@/lib/direct-routes";

const request = (method: string, url: string, headers: string[] = ["Host", "127.0.0.1:8080"]) => ({ method, url, rawHeaders: headers });

describe("the reads served without Next.js's router (lib/direct-routes.ts)", () => {
  it("takes GET and HEAD of the data paths, to the route bundle Next.js would run, with its parameters", () => {
    expect(directRouteOf(request("GET", "/api/v1/jobs?limit=50"))).toEqual({ file: "/api/v1/jobs/route.js", params: {} });
    expect(directRouteOf(request("HEAD", "/health"))).toEqual({ file: "/health/route.js", params: {} });
    expect(directRouteOf(request("GET", "/metrics"))).toEqual({ file: "/metrics/route.js", params: {} });
    expect(directRouteOf(request("GET", "/api/v1/jobs/abc-1_2~3"))).toEqual({ file: "/api/v1/jobs/[id]/route.js", params: { id: "abc-1_2~3" } });
    // a literal segment beats a parameter, as in Next.js's router
    expect(directRouteOf(request("GET", "/api/v1/jobs/running"))).toEqual({ file: "/api/v1/jobs/running/route.js", params: {} });
    expect(directRouteOf(request("GET", "/api/v1/openapi.json"))).toEqual({ file: "/api/v1/openapi.json/route.js", params: {} });
    expect(directRouteOf(request("GET", "/api/v1/jobs?x=/../../login&y=%2e"))).toEqual({ file: "/api/v1/jobs/route.js", params: {} });
  });

  it("leaves writes, OPTIONS and routes without GET to Next.js", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) expect(directRouteOf(request(method, "/api/v1/scheduler/jobs")), method).toBeNull();
    expect(directRouteOf(request("GET", "/api/v1/jobs/abc/stop"))).toBeNull();
    expect(directRouteOf(request("GET", "/api/v1/pipelines/execute"))).toBeNull();
  });

  it("leaves every path form Next.js decodes, normalises, redirects or routes elsewhere to Next.js", () => {
    for (const url of [
      "/%61pi/v1/jobs",
      "/api/v1/%6aobs",
      "/api/v1/../health",
      "/./api/v1/jobs",
      "//api/v1/jobs",
      "/api\\v1/jobs",
      "/api/v1/jobs/",
      "/health/",
      "/HEALTH",
      "/API/v1/jobs",
      "/api/v1/jobs/abc.rsc",
      "/api/v1/jobs/index",
      "/api/v1/jobs#x",
      "/api/v1/nothing-here",
      "/api",
      "/",
      "/login",
      "http://127.0.0.1:8080/health",
    ]) {
      expect(directRouteOf(request("GET", url)), url).toBeNull();
    }
  });

  it("leaves requests with Next.js's router headers (RSC, prefetch, interception, actions) to Next.js", () => {
    for (const name of ["RSC", "Next-Router-Prefetch", "next-url", "Next-Action", "x-middleware-subrequest", "x-nextjs-data"]) {
      expect(directRouteOf(request("GET", "/health", ["Host", "h", name, "1"])), name).toBeNull();
    }
    expect(directRouteOf(request("GET", "/health", ["Host", "h", "Authorization", "Bearer x", "Accept-Encoding", "gzip"]))).not.toBeNull();
  });

  it("finds every part of Next.js's server it calls in the installed Next.js (an upgrade that moves one fails here, not per request)", () => {
    const internals = nextInternals(createRequire(path.join(process.cwd(), "package.json")), true);
    for (const [name, part] of Object.entries(internals)) {
      if (name === "vary") expect(part).toBe("rsc, next-router-state-tree, next-router-prefetch, next-router-segment-prefetch");
      else expect(part, name).toBeTypeOf("function");
    }
    expect(nextInternals(createRequire(path.join(process.cwd(), "package.json")), false).compress).toBeNull();
  });

  it("refuses a Next.js that lacks one of them, naming it", () => {
    const installed = createRequire(path.join(process.cwd(), "package.json"));
    const moved = ((id: string) => (id.endsWith("/send-response") ? {} : installed(id))) as NodeJS.Require;
    expect(() => nextInternals(moved, true)).toThrow("this Next.js lacks sendResponse");
  });
});
