import os from "node:os";
import { describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { createRequire } from "node:module";
import { DATA_ANSWER_POLICY } from "@/lib/csp";
import { ANSWERED_METHODS, fixedHeadersOf, refusalOf } from "@/lib/request-gate";

function configure(env: Record<string, string> = {}) {
  const home = os.tmpdir();
  setConfig(loadConfig({ MIMIR_HOME: `${home}/mimir-request-gate-test`, ...env }, home));
}

const request = (method: string, url: string, headers: Record<string, string> = { host: "127.0.0.1:8080" }) => ({ method, url, headers });
const codeOf = (refusal: ReturnType<typeof refusalOf>) => refusal && { code: refusal.error.code, status: refusal.error.status, headers: refusal.headers };

describe("the request gate (before Next.js)", () => {
  it("refuses a method no page or route answers, on any path, with Allow", () => {
    configure();
    for (const url of ["/api/v1/jobs", "/login", "/health"]) {
      expect(codeOf(refusalOf(request("PROPFIND", url)))).toEqual({ code: "method_not_allowed", status: 405, headers: { Allow: ANSWERED_METHODS.join(", ") } });
      expect(refusalOf(request("TRACE", url))?.error.message).toContain("TRACE");
    }
  });

  it("answers an /api method the route does not handle with the JSON 405, its Allow and details, query or not", () => {
    configure();
    const refusal = refusalOf(request("PATCH", "/api/v1/scheduler/jobs?limit=5"));
    expect(codeOf(refusal)).toEqual({ code: "method_not_allowed", status: 405, headers: { Allow: "GET, POST, HEAD, OPTIONS" } });
    expect(refusal?.error.toJSON()).toMatchObject({ error: { details: { allow: ["GET", "POST", "HEAD", "OPTIONS"] } } });
    expect(refusalOf(request("DELETE", "http://127.0.0.1:8080/api/v1/pipelines/execute"))?.headers).toEqual({ Allow: "POST, OPTIONS" });
  });

  it("lets through what a route or page answers, and unknown /api paths (their catch-all answers 404)", () => {
    configure();
    expect(refusalOf(request("GET", "/api/v1/jobs?limit=50"))).toBeNull();
    expect(refusalOf(request("HEAD", "/api/v1/jobs/abc"))).toBeNull();
    expect(refusalOf(request("OPTIONS", "/api/v1/jobs"))).toBeNull();
    expect(refusalOf(request("POST", "/api/v1/nope/deeper"))).toBeNull();
    expect(refusalOf(request("GET", "/metrics"))).toBeNull();
    expect(refusalOf(request("POST", "/login"))).toBeNull();
  });

  it("refuses a host outside server.allowed_hosts with 421 on every path, however the path is spelled", () => {
    configure({ MIMIR_ALLOWED_HOSTS: "console.example" });
    for (const url of ["/health", "/metrics", "/api/v1/jobs", "/api/v1/backups/import", "/%61pi/v1/jobs", "//api/v1/jobs", "/login", "/_next/static/x.js"]) {
      expect(codeOf(refusalOf(request("GET", url, { host: "evil.example:3000" }))), url).toEqual({ code: "host_not_allowed", status: 421, headers: {} });
    }
    // A client's own X-Forwarded-Host is not believed without server.trust_proxy.
    expect(refusalOf(request("GET", "/health", { host: "evil.example", "x-forwarded-host": "console.example" }))?.error.code).toBe("host_not_allowed");
    // The host is checked before the method: a wrong host learns nothing about the routes.
    expect(refusalOf(request("PUT", "/api/v1/jobs", { host: "evil.example" }))?.error.code).toBe("host_not_allowed");
    expect(refusalOf(request("GET", "/health", { host: "console.example:8080" }))).toBeNull();
    expect(refusalOf(request("GET", "/health", { host: "localhost" }))).toBeNull();
    expect(refusalOf(request("GET", "/login", { host: "console.example" }))).toBeNull();
  });
});

describe("the fixed security headers (set here, not by next.config headers())", () => {
  const names = (url: string, headers: Record<string, string> = {}) => fixedHeadersOf({ url, headers }).map(([name]) => name);
  const EVERY = ["X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"];

  it("gives every answer the constant headers, and the data answers their constant policy, however the path is spelled", () => {
    for (const url of ["/health", "/HEALTH", "/metrics?x=1", "/api", "/api/v1/jobs?limit=50", "/API/v1/jobs", "/api/v1/../v1/jobs", "/./health"]) {
      expect(names(url), url).toEqual(["Content-Security-Policy", ...EVERY]);
    }
    expect(fixedHeadersOf({ url: "/health", headers: {} })[0]![1]).toBe(DATA_ANSWER_POLICY);
    // Pages get their policy (with its nonce) from proxy.ts; an encoded path is not a data path to Next.js's rules either.
    for (const url of ["/", "/login", "/%61pi/v1/jobs", "/healthz", "/_next/static/x.js", "/api/v1/../../login"]) {
      expect(names(url), url).toEqual(EVERY);
    }
  });

  it("gives none to a path Next.js answers with a redirect that carries none (repeated or trailing slashes, backslashes)", () => {
    for (const url of ["//health", "/api//v1/jobs", "/api\\v1/jobs", "/health//", "/health/", "/api/", "/login/"]) expect(names(url), url).toEqual([]);
  });

  it("adds HSTS only when a terminating proxy says the browser came over TLS", () => {
    expect(names("/health", { "x-forwarded-proto": "https" })).toContain("Strict-Transport-Security");
    expect(names("/login", { "x-forwarded-proto": "https" })).toContain("Strict-Transport-Security");
    for (const proto of ["http", "HTTPS", "https, http"]) expect(names("/login", { "x-forwarded-proto": proto })).not.toContain("Strict-Transport-Security");
  });

  // The rules these headers came from, compiled as Next.js compiled them (path-to-regexp, strict,
  // case-insensitive, optional trailing slash): the same paths must match, so no answer changes;
  // bar a trailing slash, whose answer is Next.js's redirect, which dropped what they matched.
  it("matches exactly the paths Next.js's former header rules matched", () => {
    // Next.js's own copy of path-to-regexp (untyped), as its router compiles custom routes with it.
    const { pathToRegexp } = createRequire(import.meta.url)("next/dist/compiled/path-to-regexp") as {
      pathToRegexp: (source: string, keys: unknown[], options: Record<string, unknown>) => RegExp;
    };
    const nextRule = (source: string) =>
      new RegExp(pathToRegexp(source, [], { strict: true, sensitive: false, delimiter: "/" }).source.replace(/\$$/, "(?:\\/)?$"), "i");
    const data = ["/api/:path*", "/health", "/metrics"].map(nextRule);
    const every = nextRule("/:path*");
    const paths = [
      "/",
      "/health",
      "/Health/",
      "/healthz",
      "/metrics",
      "/metrics/x",
      "/api",
      "/api/",
      "/api/v1/jobs",
      "/apix",
      "/api/v1/jobs/",
      "/login",
      "/_next/static/a.js",
      "/%61pi/v1",
    ];
    for (const pathname of paths) {
      const redirected = pathname !== "/" && pathname.endsWith("/");
      const expected = every.test(pathname) && !redirected ? [...(data.some((rule) => rule.test(pathname)) ? ["Content-Security-Policy"] : []), ...EVERY] : [];
      expect(names(pathname), pathname).toEqual(expected);
    }
  });
});
