import { NextResponse, type NextRequest } from "next/server";
import { allowedMethods } from "@/lib/api-routes";
import { contentSecurityPolicy, DATA_ANSWER_POLICY, newNonce } from "@/lib/csp";
import { AppError } from "@/lib/errors";
import { isAllowedHost } from "@/lib/request-origin";
import { REQUESTED_PAGE_HEADER } from "@/lib/sign-in-next";

/** Methods some page or route answers; anything else (TRACE, CONNECT, …) gets 405 here rather than a framework error. */
const ANSWERED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/** Next.js's client-navigation marker: not part of the page a person asked for. */
const RSC_QUERY = "_rsc";

/**
 * Runs before every request but static assets, so it stays small and never touches the database:
 * refuses unknown methods and hosts outside server.allowed_hosts; on the API, a method the route does
 * not handle answers the JSON error envelope with 405 and `Allow` (Next.js alone answers an empty 405;
 * unknown paths reach app/api/v1/[...path], which answers 404); every page gets a fresh script nonce
 * and the Content-Security-Policy that names it (Next.js reads the policy from the request headers and
 * stamps the nonce on a page's scripts); data answers get DATA_ANSWER_POLICY.
 */
export function proxy(request: NextRequest) {
  if (!ANSWERED_METHODS.includes(request.method)) {
    return refuse(new AppError("method_not_allowed", `${request.method.slice(0, 16)} is not supported; use ${ANSWERED_METHODS.join(", ")}`), {
      Allow: ANSWERED_METHODS.join(", "),
    });
  }
  if (!isAllowedHost(request.headers, request.url)) {
    return refuse(new AppError("host_not_allowed", "This console does not answer to that host name; see server.allowed_hosts"));
  }
  const { pathname } = request.nextUrl;
  const allowed = pathname.startsWith("/api/") ? allowedMethods(pathname) : null;
  if (allowed !== null && !allowed.includes(request.method)) {
    const error = new AppError("method_not_allowed", `${request.method} is not allowed on ${pathname}; it answers ${allowed.join(", ")}`, {
      details: { allow: allowed },
    });
    return refuse(error, { Allow: allowed.join(", ") });
  }
  if (pathname.startsWith("/api/") || pathname === "/health" || pathname === "/metrics") {
    // A data answer: no script nonce to hand to a page, so the request goes on untouched (rewriting
    // its headers is most of what this proxy costs a request; bench/http.ts).
    const response = NextResponse.next();
    response.headers.set("Content-Security-Policy", DATA_ANSWER_POLICY);
    return response;
  }
  const policy = contentSecurityPolicy(newNonce(), { development: process.env.NODE_ENV === "development" });
  const page = request.nextUrl.clone();
  page.searchParams.delete(RSC_QUERY);
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("Content-Security-Policy", policy);
  requestHeaders.set(REQUESTED_PAGE_HEADER, `${page.pathname}${page.search}`);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", policy);
  return response;
}

function refuse(error: AppError, headers: Record<string, string> = {}): Response {
  return Response.json(error.toJSON(), { status: error.status, headers: { "Cache-Control": "no-store", ...headers } });
}

export const config = {
  // Build output and the icon are public files: no policy, host check or nonce to give them. Not the set
  // upload either: with a proxy in front, Next.js buffers a request body for it and cuts it past 10 MB
  // (proxyClientMaxBodySize), and an uploaded set is far larger; its route authenticates as every route.
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|icon\\.svg|api/v1/backups/import).*)"],
};
