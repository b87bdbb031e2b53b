import "server-only";
import { z, type ZodType } from "zod";
import { AppError } from "@/lib/errors";
import { bodyTooLarge, parseJsonBody, readBodyText } from "@/lib/http-body";
import { toAppError } from "@/lib/to-app-error";
import { getLogger } from "@/lib/log/logger";
import { recordHttpRequest, routeTemplate } from "@/lib/metrics/http";
import { assertSameOrigin, authenticate, authorize, sessionTokenFromCookieHeader, type Access, type Authenticated } from "@/lib/auth/request";
import { verifyUserPassword } from "@/lib/auth/service";
import { clientAddress } from "@/lib/client-address";
import { REAUTH_HEADER } from "@/lib/auth/reauth";
import { enterWrite, type AdmittedWrite } from "@/lib/db/write-freeze";
import type { Principal } from "@/lib/auth/scopes";
import { recordAudit, recordRefusal } from "@/lib/audit/service";
import { actingFor, type AuditActor } from "@/lib/audit/context";
import type { ApiWriteAction, AuditAction } from "@/lib/audit/actions";

/** Request bodies above this are refused with 413 unless a route names a larger limit (uploads). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

type Infer<T> = T extends ZodType ? z.output<T> : undefined;

export interface RouteSpec<Q, B, P> {
  /**
   * Required, so a new route cannot forget to say who may call it.
   */
  access: Access;
  /**
   * An operator's opt-in to anonymous access, asked on each request: /metrics is public only when
   * server.metrics_public is true. Without it, `access` alone decides.
   */
  publicWhen?: () => boolean;
  /**
   * On a public route, still read the caller's credentials so the handler can tell more to a known
   * caller (/health): valid ones (any scope) give `principal`; none or bad ones leave it null and
   * are not refused, so a probe with a stale token keeps its answer.
   */
  identifyCaller?: boolean;
  query?: Q;
  /** Validates the JSON body. Omit it together with `rawBody` for routes without a body. */
  body?: B;
  params?: P;
  /** Hands the body over as text (YAML, CSV) instead of parsing JSON; the handler validates it. */
  rawBody?: boolean;
  maxBodyBytes?: number;
  /**
   * Destructive routes (restore, reset, delete): a browser session must give its password again in
   * the REAUTH_HEADER header; a script's token is itself the proof and sends nothing more.
   */
  reauth?: boolean;
  /**
   * A changing request that must still work while writes are frozen for a switch to PostgreSQL
   * (lib/db/write-freeze.ts): cancelling that very migration. Every other changing request, public
   * ones too, is refused with 503 `migrating` then.
   */
  whileMigrating?: boolean;
  /** The audit log's name for this write ("backup.restore"); defaults to "METHOD /path". */
  audit?: AuditAction;
  /** A POST that changes nothing (a check, a preview): only its refusals are recorded. */
  readOnly?: boolean;
}

export interface RouteContext<Q, B, P> {
  request: Request;
  url: URL;
  query: Infer<Q>;
  body: Infer<B>;
  params: Infer<P>;
  rawBody: { contentType: string; text: string } | null;
  /** null only on public routes (where identifyCaller may still fill it) */
  principal: Principal | null;
}

type NextRouteContext = { params: Promise<Record<string, string | string[] | undefined>> };

/**
 * Wraps a route handler: authenticates and authorises (by default, every route), refuses
 * cross-site cookie writes, parses query, params and body with zod, caps the body size, and maps
 * errors to the JSON envelope `{"error":{"code","message","details"}}`. A handler returns a value
 * (sent as JSON, 200) or a Response of its own.
 */
export function route<Q extends ZodType | undefined = undefined, B extends ZodType | undefined = undefined, P extends ZodType | undefined = undefined>(
  spec: RouteSpec<Q, B, P>,
  handler: (ctx: RouteContext<Q, B, P>) => Promise<unknown> | unknown,
) {
  return async function handle(request: Request, context: NextRouteContext): Promise<Response> {
    const started = performance.now();
    const url = new URL(request.url);
    const routeParams = (await context?.params) ?? {};
    const actor: AuditActor = { principal: null, ip: clientAddress(request.headers), open: true, recorded: false };
    const changing = !SAFE_METHODS.has(request.method) && !spec.whileMigrating;
    // A changing request is one admitted write (lib/db/write-freeze.ts): refused with 503 `migrating`
    // while writes are frozen for a switch to PostgreSQL; a freeze that starts meanwhile waits until
    // it and its audit row are written.
    let admitted: AdmittedWrite | null = null;
    const response = await actingFor(actor, async (): Promise<Response> => {
      try {
        let principal: Principal | null = null;
        let auth: Authenticated | null = null;
        const access = spec.publicWhen?.() ? "public" : spec.access;
        if (access !== "public") {
          auth = await authenticate({
            authorization: request.headers.get("authorization"),
            sessionToken: sessionTokenFromCookieHeader(request.headers.get("cookie")),
          });
          actor.principal = auth?.principal ?? null;
          principal = authorize(auth, access);
          if (auth?.via === "session" && !SAFE_METHODS.has(request.method)) assertSameOrigin(request.headers, request.url);
        } else if (spec.identifyCaller) {
          // A caller that cannot be identified because the database does not answer is served as an
          // anonymous one (less detail, never more): /health must still say 503 and why.
          const caller = await authenticate({
            authorization: request.headers.get("authorization"),
            sessionToken: sessionTokenFromCookieHeader(request.headers.get("cookie")),
          }).catch(() => null);
          principal = caller?.principal ?? null;
          actor.principal = principal;
        }
        if (changing) admitted = enterWrite();
        const serve = async (): Promise<Response> => {
          if (spec.reauth && auth?.via === "session") {
            const password = request.headers.get(REAUTH_HEADER);
            if (!password) throw new AppError("reauth_required", "This action needs your password again");
            await verifyUserPassword(auth.principal.id, password, { ip: actor.ip, userAgent: null });
          }
          const maxBodyBytes = spec.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
          // Every route refuses a declared oversized body first, before anything else is parsed (a route that
          // reads no body too, so the 413 rule holds everywhere); readBodyText also counts what really arrives.
          if (Number(request.headers.get("content-length") ?? 0) > maxBodyBytes) throw bodyTooLarge(maxBodyBytes);
          const params = spec.params ? spec.params.parse(routeParams) : undefined;
          const query = spec.query ? spec.query.parse(Object.fromEntries(url.searchParams)) : undefined;
          let body: unknown = undefined;
          let rawBody: RouteContext<Q, B, P>["rawBody"] = null;
          if (spec.body || spec.rawBody) {
            const text = await readBodyText(request, maxBodyBytes);
            const contentType = request.headers.get("content-type") ?? "";
            if (spec.rawBody) rawBody = { contentType, text };
            else body = spec.body!.parse(parseJsonBody(text));
          }
          const result = await handler({
            request,
            url,
            query: query as Infer<Q>,
            body: body as Infer<B>,
            params: params as Infer<P>,
            rawBody,
            principal,
          });
          return result instanceof Response ? result : Response.json(result ?? null);
        };
        return await (admitted ? admitted.run(serve) : serve());
      } catch (error) {
        return errorResponse(error, request);
      }
    });
    // API answers carry tokens, config and history: no browser or shared cache may keep them. A
    // route that means to be cached (none today) says so with its own header.
    const answer = response.headers.has("cache-control") ? response : withHeader(response, "Cache-Control", "no-store");
    const write = admitted as AdmittedWrite | null;
    try {
      if (!SAFE_METHODS.has(request.method) && actor.principal) {
        const audit = () => auditWrite(request, url, actor.principal!, actor, answer.status, spec);
        await (write ? write.run(audit) : audit());
      }
    } finally {
      write?.end();
    }
    logRequest(request, url, routeTemplate(url.pathname, routeParams), answer.status, performance.now() - started);
    return answer;
  };
}

/**
 * The audit row of a state-changing request from an identified caller, when the capability did not
 * record the change itself (one row per change, whoever owns it): a change under the route's name;
 * a refusal or failure through recordRefusal, which folds a caller's repeats into one row a minute.
 * A read-only POST records only its refusals. Anonymous refusals go to the request log only.
 */
async function auditWrite(
  request: Request,
  url: URL,
  principal: Principal,
  actor: AuditActor,
  status: number,
  spec: { audit?: AuditAction; readOnly?: boolean },
) {
  if (actor.recorded) return;
  const result = status < 400 ? "ok" : status === 401 || status === 403 || status === 429 ? "denied" : "failed";
  if (result === "ok" && spec.readOnly) return;
  const entry = {
    principal,
    action: spec.audit ?? (`${request.method} ${url.pathname}` as ApiWriteAction),
    target: url.pathname,
    ip: actor.ip,
    details: { status },
  };
  await (result === "ok" ? recordAudit({ ...entry, result }) : recordRefusal({ ...entry, result })).catch((error) =>
    getLogger().error("audit write failed", { error }),
  );
}

/** Sets a header, on a copy when the response's headers are immutable (a Response.redirect). */
function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

/** A JSON response with a status other than 200 (201 created, 202 accepted). */
export function json(data: unknown, status: number, headers?: HeadersInit): Response {
  return Response.json(data, { status, headers });
}

export function errorResponse(error: unknown, request?: Request): Response {
  const appError = toAppError(error);
  if (appError.category === "internal") {
    getLogger().error("request failed", { method: request?.method, url: request?.url, error });
  }
  const headers: Record<string, string> = {};
  if (appError.code === "unauthorized") headers["WWW-Authenticate"] = 'Bearer realm="mimir"';
  const retryAfter = (appError.details as { retry_after_seconds?: number } | undefined)?.retry_after_seconds;
  if (appError.category === "rate_limited" && retryAfter) headers["Retry-After"] = String(retryAfter);
  return Response.json(appError.toJSON(), { status: appError.status, headers });
}

function logRequest(request: Request, url: URL, template: string, status: number, ms: number) {
  const level = status >= 500 ? "error" : status >= 400 || !SAFE_METHODS.has(request.method) ? "info" : "debug";
  const logger = getLogger();
  // winston formats a line (redaction, timestamp, JSON) before its transports drop it by level: a
  // successful read at the default level costs that much for nothing on every request.
  if (logger.isLevelEnabled(level)) logger.log(level, "http", { method: request.method, path: url.pathname, status, ms: Math.round(ms) });
  recordHttpRequest(request.method, template, status, ms);
}
