import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import type http from "node:http";
import { apiRouteOf } from "@/lib/api-routes";

/**
 * The data paths' reads (GET and HEAD of /api/v1/…, /health and /metrics) served from Node's
 * `request` event (lib/request-gate.ts) by the very route handlers Next.js would run, taken from the
 * build's own route bundles (the same module instances Next.js loads, so the same database, config,
 * metrics and logger), with the `route()` wrapper inside them as ever: one authentication and
 * authorisation, the same request log, metrics, audit context, error envelope and headers.
 *
 * Why: bench:http measured Next.js's own per-request work (router, route matching, the route
 * module's preparation, its request context) as most of what an API read costs beyond a bare route
 * handler, and that work grows with the app's routes and pages. The conversion between Node's
 * request and the web Request and back is Next.js's own code (its request adapter, its
 * `sendResponse` with back-pressure and abort on client close, its compression middleware), so an
 * answer is the one Next.js gives: same status, headers in the same order, same body.
 *
 * Anything unusual is left to Next.js: other methods (writes, OPTIONS), paths that Next.js would
 * decode, normalise, redirect or route elsewhere (percent-escapes, dot segments, `//`, a trailing
 * slash, a file extension, which Next.js may treat as RSC or static-file requests), and requests that
 * carry Next.js's router headers. Until the server has booted everything goes to Next.js too.
 */

type NodeHandler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

interface NextInternals {
  compress: ((req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void) | null;
  releaseCompressionStream(res: http.ServerResponse): void;
  NodeNextRequest: new (req: http.IncomingMessage) => object;
  NodeNextResponse: new (res: http.ServerResponse) => object;
  fromNodeNextRequest(req: object, signal: AbortSignal): Request;
  signalFromNodeResponse(res: http.ServerResponse): AbortSignal;
  addRequestMeta(req: http.IncomingMessage, key: "initURL", value: string): void;
  sendResponse(req: object, res: object, response: Response): Promise<void>;
  /** what Next.js's setVaryHeader appends on every app route's answer */
  vary: string;
}

interface Direct {
  internals: NextInternals | null;
  /** the build's folder of route bundles (`.next/server/app`) */
  appDir: string;
  /** route file → its GET handler, or null when the bundle has none to call directly */
  handlers: Map<string, NodeHandler | null>;
  /** route files whose bundle is being loaded, until it has */
  loading: Map<string, Promise<void>>;
  runtimeRequire: NodeJS.Require | null;
  /** route file → its warm-up (warmUpAtBoot) */
  warmUps: Map<string, () => Promise<unknown>>;
}

const memo = processState("directRoutes", (): Direct => ({
  internals: null,
  appDir: "",
  handlers: new Map(),
  loading: new Map(),
  runtimeRequire: null,
  warmUps: new Map(),
}));

/**
 * What a probe route (/health, /metrics) runs once when loadProbeRoutes loads it at boot: its own
 * work with the answer discarded, so that the first probe or scrape does not pay for code and
 * connections that are cold. Called by the route file as it loads (its module instance, not another
 * bundle's copy); a warm-up that fails is logged and changes nothing.
 */
export function warmUpAtBoot(pathname: "/health" | "/metrics", warmUp: () => Promise<unknown>): void {
  memo.warmUps.set(`${pathname}/route.js`, warmUp);
}

/**
 * Turns direct serving on, once the server has booted (a handler must never run before the
 * migrations). Only for a production build served from its folder (`next start`, the standalone
 * server.js): in development Next.js compiles routes on demand. Off when MIMIR_DIRECT_ROUTES=0.
 */
export function enableDirectRoutes(): void {
  if (memo.internals || process.env.NODE_ENV !== "production" || process.env.MIMIR_DIRECT_ROUTES === "0") return;
  const distDir = path.join(process.cwd(), ".next");
  const serverFiles = path.join(distDir, "required-server-files.json");
  if (!fs.existsSync(path.join(distDir, "BUILD_ID")) || !fs.existsSync(serverFiles)) return;
  // Node's own require, at run time: the bundler must not follow these paths (the route bundles are
  // this build's output; Next.js's internals are the copy that serves this process).
  const runtimeRequire = createRequire(path.join(process.cwd(), "package.json"));
  const config = (JSON.parse(fs.readFileSync(serverFiles, "utf8")) as { config: { compress?: boolean } }).config;
  const internals = nextInternals(runtimeRequire, config.compress !== false);
  memo.runtimeRequire = runtimeRequire;
  memo.appDir = path.join(distDir, "server/app");
  memo.internals = internals;
}

/**
 * Loads the probes' route bundles (/health, /metrics) for direct serving; boot awaits it before the
 * server answers, so that the first probe and the first scrape find their route ready instead of
 * Next.js loading it on their way (a scrape the moment /health first answered took 224 ms).
 */
export async function loadProbeRoutes(): Promise<void> {
  if (!memo.internals) return;
  for (const file of ["/health/route.js", "/metrics/route.js"]) {
    handlerOf(file);
    await memo.loading.get(file);
    await memo.warmUps
      .get(file)?.()
      .catch((error: unknown) => console.error(`the warm-up of ${file} failed; its first request is served cold:`, error));
  }
}

/**
 * The parts of Next.js's own server that direct serving calls, taken from the `next` package that
 * serves this process. They are internals: an upgrade may move or rename them, so each is checked
 * here, once, and a missing one throws (instrumentation-node.ts then logs it and leaves every request
 * to Next.js) instead of failing each request later. Exported for its test, which runs it against
 * the installed Next.js.
 */
export function nextInternals(runtimeRequire: NodeJS.Require, compress: boolean): NextInternals {
  const compression = runtimeRequire("next/dist/compiled/compression") as () => NextInternals["compress"];
  const headers = runtimeRequire("next/dist/client/components/app-router-headers") as Record<string, string | undefined>;
  const adapter = runtimeRequire("next/dist/server/web/spec-extension/adapters/next-request") as {
    NextRequestAdapter?: { fromNodeNextRequest?: NextInternals["fromNodeNextRequest"] };
    signalFromNodeResponse?: NextInternals["signalFromNodeResponse"];
  };
  const nodeHttp = runtimeRequire("next/dist/server/base-http/node") as Partial<Pick<NextInternals, "NodeNextRequest" | "NodeNextResponse">>;
  const parts = {
    compression,
    releaseCompressionStream: (runtimeRequire("next/dist/server/lib/release-compression-stream") as Partial<NextInternals>).releaseCompressionStream,
    NodeNextRequest: nodeHttp.NodeNextRequest,
    NodeNextResponse: nodeHttp.NodeNextResponse,
    fromNodeNextRequest: adapter.NextRequestAdapter?.fromNodeNextRequest,
    signalFromNodeResponse: adapter.signalFromNodeResponse,
    addRequestMeta: (runtimeRequire("next/dist/server/request-meta") as Partial<NextInternals>).addRequestMeta,
    sendResponse: (runtimeRequire("next/dist/server/send-response") as Partial<NextInternals>).sendResponse,
  };
  const missing = Object.entries(parts).filter(([, value]) => typeof value !== "function");
  const varyNames = [
    headers.RSC_HEADER,
    headers.NEXT_ROUTER_STATE_TREE_HEADER,
    headers.NEXT_ROUTER_PREFETCH_HEADER,
    headers.NEXT_ROUTER_SEGMENT_PREFETCH_HEADER,
  ];
  if (missing.length > 0 || !varyNames.every((name) => typeof name === "string" && name !== "")) {
    throw new Error(`this Next.js lacks ${[...missing.map(([name]) => name), ...(varyNames.every(Boolean) ? [] : ["its router header names"])].join(", ")}`);
  }
  const adapterClass = adapter.NextRequestAdapter!;
  return {
    compress: compress ? compression() : null,
    releaseCompressionStream: parts.releaseCompressionStream!,
    NodeNextRequest: parts.NodeNextRequest!,
    NodeNextResponse: parts.NodeNextResponse!,
    // called on its class, as Next.js does (a static method may use `this`)
    fromNodeNextRequest: (req, signal) => adapterClass.fromNodeNextRequest!(req, signal),
    signalFromNodeResponse: parts.signalFromNodeResponse!,
    addRequestMeta: parts.addRequestMeta!,
    sendResponse: parts.sendResponse!,
    vary: varyNames.join(", "),
  };
}

/** Path segments Next.js serves as written: no escapes, no dot segments, no extension (`.rsc`), not `index`. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-]+)+$/;
const LITERAL_PATHS = new Set(["/api/v1/openapi.json"]);
/** Request headers that change what Next.js does with a request (RSC, prefetch, interception, server actions, middleware). */
const NEXT_HEADER = /^(?:rsc|next-|x-middleware|x-nextjs|x-invoke|x-now)/i;

/**
 * Serves `request` directly when it is a read of a data path (see above) and returns true, or
 * returns false and leaves it to Next.js.
 */
export function serveDirectly(request: http.IncomingMessage, response: http.ServerResponse): boolean {
  const internals = memo.internals;
  if (!internals) return false;
  const found = directRouteOf(request);
  if (!found) return false;
  const handler = handlerOf(found.file);
  if (!handler) return false;
  serve(internals, request, response, handler, found.params).catch((error: unknown) => {
    // route() answers every error of its own with the JSON envelope; this is a failure outside it.
    console.error(`direct route ${request.method} ${found.file} failed:`, error);
    if (!response.headersSent) {
      response.statusCode = 500;
      response.end();
    } else response.destroy();
  });
  return true;
}

/**
 * The route bundle (under `.next/server/app`) and parameters of a request this module may serve, or
 * null for one Next.js must see (see above). Exported for its tests.
 */
export function directRouteOf(request: Pick<http.IncomingMessage, "method" | "url" | "rawHeaders">): { file: string; params: Record<string, string> } | null {
  if (request.method !== "GET" && request.method !== "HEAD") return null;
  const target = request.url ?? "";
  const queryAt = target.indexOf("?");
  const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
  if (!(PLAIN_PATH.test(pathname) || LITERAL_PATHS.has(pathname)) || target.includes("#") || pathname.split("/").includes("index")) return null;
  for (let index = 0; index < request.rawHeaders.length; index += 2) if (NEXT_HEADER.test(request.rawHeaders[index]!)) return null;
  return routeOf(pathname);
}

function routeOf(pathname: string): { file: string; params: Record<string, string> } | null {
  if (pathname === "/health" || pathname === "/metrics") return { file: `${pathname}/route.js`, params: {} };
  if (!pathname.startsWith("/api/v1/")) return null;
  const route = apiRouteOf(pathname);
  if (!route?.methods.includes("GET")) return null;
  return { file: `${route.template.replace(/\{(\w+)\}/g, "[$1]")}/route.js`, params: route.params };
}

/**
 * The route's GET handler once its bundle has loaded; undefined until then (the request goes to
 * Next.js, which loads the same bundle), null when it has no handler to call directly. A route file
 * with top-level await (or one importing such a module) loads asynchronously: its route module's
 * `userland` may be read only after `ensureUserland()`.
 */
function handlerOf(file: string): NodeHandler | null | undefined {
  const handler = memo.handlers.get(file);
  if (handler !== undefined || memo.loading.has(file)) return handler;
  const loaded = loadHandler(file)
    .then(
      (handler) => void memo.handlers.set(file, handler),
      (error: unknown) => {
        console.error(`direct route ${file} did not load; Next.js serves it:`, error);
        memo.handlers.set(file, null);
      },
    )
    .finally(() => memo.loading.delete(file));
  memo.loading.set(file, loaded);
  return undefined;
}

async function loadHandler(file: string): Promise<NodeHandler | null> {
  const bundle = (await memo.runtimeRequire!(path.join(memo.appDir, file))) as {
    routeModule?: { ensureUserland?: () => Promise<void>; userland?: { GET?: NodeHandler; HEAD?: NodeHandler } };
  };
  await bundle.routeModule?.ensureUserland?.();
  // A route with a HEAD of its own would be asked for HEAD; none has one (lib/api-routes.test.ts), so
  // Next.js runs GET for HEAD and sends no body, as here.
  const userland = bundle.routeModule?.userland;
  return userland?.GET && !userland.HEAD ? userland.GET : null;
}

async function serve(
  next: NextInternals,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  handler: NodeHandler,
  params: Record<string, string>,
): Promise<void> {
  // What Next.js's router server does first for every request: its compression middleware (gzip when
  // asked for; it adds `Vary: Accept-Encoding`) and the release of its stream when the client leaves.
  if (next.compress) {
    next.compress(request, response, () => {});
    response.once("close", () => {
      if (!response.writableFinished) next.releaseCompressionStream(response);
    });
  }
  request.on("error", () => {});
  response.on("error", () => {});
  // The x-forwarded-* headers Next.js's base server fills in when absent (lib/client-address.ts reads
  // X-Forwarded-For behind a trusted proxy), and the absolute URL the route's Request carries.
  const forwardedProto = request.headers["x-forwarded-proto"];
  const https = forwardedProto ? forwardedProto === "https" : false;
  const socket = request.socket;
  const host = socket.localAddress?.includes(":") ? `[${socket.localAddress}]` : (socket.localAddress ?? "localhost");
  request.headers["x-forwarded-host"] ??= request.headers.host ?? host;
  request.headers["x-forwarded-port"] ??= String(socket.localPort ?? (https ? 443 : 80));
  request.headers["x-forwarded-proto"] ??= https ? "https" : "http";
  request.headers["x-forwarded-for"] ??= socket.remoteAddress;
  const protocol = typeof forwardedProto === "string" && forwardedProto.includes("https") ? "https" : "http";
  next.addRequestMeta(request, "initURL", `${protocol}://${host}:${socket.localPort}${request.url}`);
  response.appendHeader("vary", next.vary);
  const nodeRequest = new next.NodeNextRequest(request);
  const nodeResponse = new next.NodeNextResponse(response);
  const answer = await handler(next.fromNodeNextRequest(nodeRequest, next.signalFromNodeResponse(response)), { params: Promise.resolve(params) });
  await next.sendResponse(nodeRequest, nodeResponse, answer);
}
