import { NextResponse, type NextRequest } from "next/server";
import { allowedMethods } from "@/lib/api-routes";
import { AppError } from "@/lib/errors";

/**
 * A method a route does not handle answers the API's JSON error envelope with 405 and `Allow` (Next.js
 * alone answers an empty 405). Everything else passes through untouched; unknown paths reach
 * app/api/v1/[...path], which answers the envelope with 404.
 */
export function proxy(request: NextRequest) {
  const allowed = allowedMethods(request.nextUrl.pathname);
  if (allowed === null || allowed.includes(request.method)) return NextResponse.next();
  const error = new AppError("method_not_allowed", `${request.method} is not allowed on ${request.nextUrl.pathname}; it answers ${allowed.join(", ")}`, {
    details: { allow: allowed },
  });
  return NextResponse.json(error.toJSON(), { status: error.status, headers: { Allow: allowed.join(", ") } });
}

// Not the set upload: with a proxy in front, Next.js buffers a request body for it and cuts it past
// 10 MB (proxyClientMaxBodySize), and an uploaded set is far larger. A wrong method there keeps
// Next.js's own (empty) 405.
export const config = { matcher: "/api/v1/((?!backups/import).*)" };
