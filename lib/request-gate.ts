import "server-only";
import { processState } from "@/lib/process-state";
import http from "node:http";
import { allowedMethods } from "@/lib/api-routes";
import { DATA_ANSWER_POLICY } from "@/lib/csp";
import { AppError } from "@/lib/errors";
import { isAllowedHost, type HeaderReader } from "@/lib/request-origin";
import { serveDirectly } from "@/lib/direct-routes";
import { trackRequest } from "@/lib/request-activity";

const memo = processState("requestGate", (): { installed?: boolean } => ({}));

/** Methods some page or route answers; anything else (TRACE, PROPFIND, …) gets 405 here rather than a framework error. */
export const ANSWERED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * The answers that need neither Next.js nor the database, given in Node's `request` event before
 * Next.js sees the request:
 * - a method no page or route answers: 405 with the JSON error envelope. Next.js turns every request
 *   into a fetch Request, which refuses TRACE with a TypeError before proxy.ts or any route runs (a 500
 *   and a stack trace in the log), and answers other unknown methods with a framework error.
 * - a host outside server.allowed_hosts: 421, on every path (the data paths /api/…, /health and
 *   /metrics do not run proxy.ts);
 * - on /api/…, a method the route does not handle: the JSON 405 with `Allow` (Next.js alone answers
 *   an empty 405; lib/api-routes.ts lists each route's methods).
 * The data paths skip proxy.ts because a Next.js proxy invocation builds a NextRequest, runs the proxy
 * bundle and merges its answer into the request: bench/http-profile.ts measured it as the largest part
 * of an API request's cost beyond a bare route handler's, for checks that need only the method, the
 * path and the Host header. Pages still go through proxy.ts (their script nonce), which checks the host.
 * (CONNECT never becomes a request, and Node's parser answers methods it does not know with 400.)
 */
export function installRequestGate(): void {
  if (memo.installed) return;
  memo.installed = true;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function emitUnlessRefused(this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "request") {
      const [request, response] = args as [http.IncomingMessage | undefined, http.ServerResponse | undefined];
      if (response) trackRequest(response);
      const refusal = request && response ? refusalOf(request) : null;
      if (refusal) {
        answer(response!, refusal.error, refusal.headers);
        request!.resume();
        return true;
      }
      if (request && response) {
        for (const [name, value] of fixedHeadersOf(request)) response.setHeader(name, value);
        // The data paths' reads, by their own route handlers without Next.js's per-request work (lib/direct-routes.ts).
        if (serveDirectly(request, response)) return true;
      }
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  };
}

/** The refusal this gate gives a request, or null to let Next.js answer it. Exported for its tests. */
export function refusalOf(request: Pick<http.IncomingMessage, "method" | "url" | "headers">): { error: AppError; headers: Record<string, string> } | null {
  const method = request.method ?? "GET";
  if (!ANSWERED_METHODS.includes(method)) {
    return {
      error: new AppError("method_not_allowed", `${method.slice(0, 16)} is not supported; use ${ANSWERED_METHODS.join(", ")}`),
      headers: { Allow: ANSWERED_METHODS.join(", ") },
    };
  }
  const pathname = pathOf(request.url ?? "/");
  // Every path, not only the data paths: which path Next.js serves is decided after decoding and
  // normalising it (`/%61pi/v1/jobs` is the API), so a check that depended on this raw path could be
  // stepped around. Pages get the same check again in proxy.ts.
  if (!isAllowedHost(nodeHeaders(request.headers), `http://${request.headers.host ?? "localhost"}${pathname}`)) {
    return { error: new AppError("host_not_allowed", "This console does not answer to that host name; see server.allowed_hosts"), headers: {} };
  }
  const allowed = pathname.startsWith("/api/") ? allowedMethods(pathname) : null;
  if (allowed !== null && !allowed.includes(method)) {
    return {
      error: new AppError("method_not_allowed", `${method} is not allowed on ${pathname}; it answers ${allowed.join(", ")}`, { details: { allow: allowed } }),
      headers: { Allow: allowed.join(", ") },
    };
  }
  return null;
}

/** Sent on every answer Next.js gives (what `/:path*` matches): no MIME sniffing, no framing, no referrer to other sites. */
const EVERY_ANSWER: [string, string][] = [
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "same-origin"],
  ["X-Frame-Options", "DENY"],
];
const DATA_ANSWER: [string, string][] = [["Content-Security-Policy", DATA_ANSWER_POLICY], ...EVERY_ANSWER];
// Only when the browser came over TLS (a terminating proxy says so): sent over plain HTTP it is
// ignored by browsers, and on a LAN install without TLS it must not pin https.
const TLS_ANSWER: [string, string] = ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"];
// The paths Next.js's header rules `/:path*`, `/api/:path*`, `/health` and `/metrics` matched (its
// path-to-regexp with `strict`, case-insensitive), so every answer keeps exactly the headers it had
// when next.config headers() set them. A trailing slash is left out: Next.js answers such a path
// with its redirect to the path without it, which drops the headers its rules matched.
const ANY_PATH = /^(?:\/[^/]+)+$|^\/$/;
const DATA_PATH = /^(?:\/api(?:\/[^/]+)*|\/health|\/metrics)$/i;

/**
 * The constant security headers of the answer Next.js will give `request`, set here rather than by
 * next.config headers(): Next.js matched every request against those rules through path-to-regexp
 * and copied the values in its router (bench/http-profile.ts: about 4× the router's cost of a bare
 * app), while this gate sees every request anyway. The data answers (JSON and text) get their constant
 * policy here; pages get theirs, with a fresh nonce, from proxy.ts. Matched on the path Next.js
 * matches its rules on: the target resolved as a URL (`/api/v1/../health` is `/health`, `/%61pi` stays
 * encoded); a path with `//`, a backslash or a trailing slash gets none, as Next.js answers it with a
 * redirect that carries none.
 * A route's own header of the same name still wins (it is set later). Exported for its tests.
 */
export function fixedHeadersOf(request: Pick<http.IncomingMessage, "url" | "headers">): [string, string][] {
  const target = request.url ?? "/";
  const beforeQuery = target.split("?", 1)[0]!;
  if (/\\|\/\//.test(beforeQuery)) return [];
  const pathname = /[.%#]/.test(beforeQuery) ? resolvedPath(target) : beforeQuery;
  if (pathname === null || !ANY_PATH.test(pathname)) return [];
  const headers = DATA_PATH.test(pathname) ? DATA_ANSWER : EVERY_ANSWER;
  return request.headers["x-forwarded-proto"] === "https" ? [...headers, TLS_ANSWER] : headers;
}

function resolvedPath(target: string): string | null {
  try {
    return new URL(target, "http://n").pathname;
  } catch {
    return null;
  }
}

/** The path of a request target: origin form (`/a?b`) as browsers send it, or absolute form (`http://h/a`). */
function pathOf(target: string): string {
  if (target.startsWith("/")) {
    const end = target.search(/[?#]/);
    return end < 0 ? target : target.slice(0, end);
  }
  try {
    return new URL(target).pathname;
  } catch {
    return "/";
  }
}

function nodeHeaders(headers: http.IncomingHttpHeaders): HeaderReader {
  return {
    get(name: string) {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

function answer(response: http.ServerResponse, error: AppError, headers: Record<string, string>): void {
  response.writeHead(error.status, {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Content-Security-Policy": DATA_ANSWER_POLICY,
    "X-Content-Type-Options": "nosniff",
    ...headers,
  });
  response.end(JSON.stringify(error.toJSON()));
}
