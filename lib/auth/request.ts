import "server-only";
import { AppError } from "@/lib/errors";
import { requestOrigin } from "@/lib/request-origin";
import { principalFromSession, principalFromToken, readSessionCookie } from "@/lib/auth/service";
import { scopeAllows, type Principal, type Scope } from "@/lib/auth/scopes";

/** Who may call: "public" opts a route out of authentication (only /health does). */
export type Access = "public" | Scope;

export interface Credentials {
  authorization: string | null;
  sessionToken: string | null;
}

export interface Authenticated {
  principal: Principal;
  /** How the caller proved itself: cookie callers must also pass the same-origin check on writes. */
  via: "session" | "bearer";
}

/**
 * The single place that turns request credentials into a principal. A bearer header, when present,
 * is the only credential looked at: a script's request never falls back to a browser cookie.
 */
export async function authenticate(credentials: Credentials): Promise<Authenticated | null> {
  const header = credentials.authorization?.trim();
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match ? await principalFromToken(match[1]!) : null;
    return principal ? { principal, via: "bearer" } : null;
  }
  if (credentials.sessionToken) {
    const principal = await principalFromSession(credentials.sessionToken);
    return principal ? { principal, via: "session" } : null;
  }
  return null;
}

/** Throws 401 for no caller and 403 for a caller whose scope is short of what is required. */
export function authorize(auth: Authenticated | null, required: Scope): Principal {
  if (!auth) throw new AppError("unauthorized", "Sign in, or send 'Authorization: Bearer <token>'");
  if (!scopeAllows(auth.principal.scope, required)) {
    throw new AppError("forbidden", `This needs the '${required}' scope; ${auth.principal.kind} '${auth.principal.name}' has '${auth.principal.scope}'`);
  }
  return auth.principal;
}

/** Reads the session cookie (either name, readSessionCookie) out of a Cookie header. */
export function sessionTokenFromCookieHeader(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  const values = new Map<string, string>();
  for (const part of cookieHeader.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name && !values.has(name)) values.set(name, rest.join("="));
  }
  const value = readSessionCookie((name) => values.get(name));
  if (value === null) return null;
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * Cross-site request forgery guard for cookie-authenticated writes: the browser's own
 * `Sec-Fetch-Site`, or else the Origin, must say the request came from this site. A request with
 * neither is refused: every browser that sends cookies sends one of them on a POST. The Origin must
 * match scheme, host and port; X-Forwarded-* count only when server.trust_proxy is set.
 */
export function assertSameOrigin(headers: Headers, requestUrl: string): void {
  const site = headers.get("sec-fetch-site");
  if (site) {
    if (site === "same-origin" || site === "none") return;
    throw new AppError("csrf_rejected", `Cross-site request refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = headers.get("origin");
  if (!origin || origin === "null") throw new AppError("csrf_rejected", "Request refused: it carries no Origin");
  let originOrigin: string;
  try {
    originOrigin = new URL(origin).origin;
  } catch {
    throw new AppError("csrf_rejected", "Request refused: malformed Origin");
  }
  if (originOrigin !== requestOrigin(headers, requestUrl)) throw new AppError("csrf_rejected", `Cross-origin request from ${origin.slice(0, 200)} refused`);
}

/** Whether the browser reached us over https (directly, or through a TLS-terminating proxy that says so). */
export function isSecureRequest(headers: Headers, requestUrl?: string): boolean {
  const proto = headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  if (proto) return proto === "https";
  return requestUrl?.startsWith("https:") ?? false;
}
