import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy, newNonce } from "@/lib/csp";
import { AppError } from "@/lib/errors";
import { isAllowedHost } from "@/lib/request-origin";
import { REQUESTED_PAGE_HEADER } from "@/lib/sign-in-next";

/** Next.js's client-navigation marker: not part of the page a person asked for. */
const RSC_QUERY = "_rsc";

/**
 * Runs before every page (not before static assets or the data paths: /api/…, /health and /metrics,
 * whose method and host checks lib/request-gate.ts makes before Next.js, and whose
 * Content-Security-Policy is a constant set by lib/request-gate.ts), so it stays small and never touches
 * the database: refuses hosts outside server.allowed_hosts; every page gets a fresh script nonce and
 * the Content-Security-Policy that names it (Next.js reads the policy from the request headers and
 * stamps the nonce on a page's scripts). Unknown methods never get here (lib/request-gate.ts).
 */
export function proxy(request: NextRequest) {
  if (!isAllowedHost(request.headers, request.url)) {
    return refuse(new AppError("host_not_allowed", "This console does not answer to that host name; see server.allowed_hosts"));
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

function refuse(error: AppError): Response {
  return Response.json(error.toJSON(), { status: error.status, headers: { "Cache-Control": "no-store" } });
}

export const config = {
  // Build output and the icon are public files: no policy, host check or nonce to give them. Not the
  // data paths either (see above); that also keeps the set upload whole (with a proxy in front, Next.js
  // buffers a request body for it and cuts it past 10 MB, proxyClientMaxBodySize).
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|icon\\.svg|api/|health$|metrics$).*)"],
};
