import { AppError } from "@/lib/errors";

/**
 * The HTTP methods each /api/v1 route file exports, for the request gate (lib/request-gate.ts): a
 * method a route does not handle answers a JSON 405 with `Allow`, instead of Next.js's empty 405. The
 * gate runs before Next.js and the route bundles and cannot read them, so the list is kept here; lib/api-routes.test.ts compares
 * it with the route files, so a route added or changed without updating it fails the tests. A path
 * not listed is left to Next.js (a new route works; an unknown path reaches app/api/v1/[...path]).
 */
export const API_ROUTE_METHODS: Record<string, readonly string[]> = {
  "/api/v1/alerts": ["GET"],
  "/api/v1/audit": ["GET"],
  "/api/v1/backups": ["GET", "POST"],
  "/api/v1/backups/{backupId}": ["DELETE", "GET"],
  "/api/v1/backups/{backupId}/copy": ["POST"],
  "/api/v1/backups/{backupId}/download": ["GET"],
  "/api/v1/backups/{backupId}/pin": ["PUT"],
  "/api/v1/backups/{backupId}/restore": ["POST"],
  "/api/v1/backups/{backupId}/verify": ["POST"],
  "/api/v1/backups/import": ["POST"],
  "/api/v1/backups/prune": ["POST"],
  "/api/v1/backups/schedule": ["GET", "PUT"],
  "/api/v1/config": ["GET", "PUT"],
  "/api/v1/config/reload": ["POST"],
  "/api/v1/destinations": ["GET", "POST"],
  "/api/v1/destinations/{destinationId}": ["DELETE", "GET", "PUT"],
  "/api/v1/destinations/{destinationId}/prune": ["POST"],
  "/api/v1/destinations/{destinationId}/sets": ["GET"],
  "/api/v1/destinations/{destinationId}/sets/{backupId}/pull": ["POST"],
  "/api/v1/destinations/{destinationId}/test": ["POST"],
  "/api/v1/export/csv/{table}": ["GET"],
  "/api/v1/export/sql": ["GET"],
  "/api/v1/instances": ["GET"],
  "/api/v1/jobs": ["GET"],
  "/api/v1/jobs/{id}": ["GET"],
  "/api/v1/jobs/{id}/stop": ["POST"],
  "/api/v1/jobs/export": ["GET"],
  "/api/v1/jobs/recent": ["GET"],
  "/api/v1/jobs/running": ["GET"],
  "/api/v1/jobs/statistics": ["GET"],
  "/api/v1/logs/executions/{id}": ["GET"],
  "/api/v1/maintenance": ["GET"],
  "/api/v1/maintenance/analyze": ["POST"],
  "/api/v1/maintenance/checkpoint": ["POST"],
  "/api/v1/maintenance/integrity-check": ["POST"],
  "/api/v1/maintenance/migrate-to-postgres": ["POST"],
  "/api/v1/maintenance/recover": ["POST"],
  "/api/v1/maintenance/recover/swap": ["POST"],
  "/api/v1/maintenance/vacuum": ["POST"],
  "/api/v1/notifications/channels": ["GET", "POST"],
  "/api/v1/notifications/channels/{channelId}": ["DELETE", "GET", "PATCH"],
  "/api/v1/notifications/channels/{channelId}/test": ["POST"],
  "/api/v1/notifications/deliveries": ["GET"],
  "/api/v1/notifications/events": ["GET"],
  "/api/v1/notifications/jobs/{jobId}": ["GET", "PUT"],
  "/api/v1/openapi.json": ["GET"],
  "/api/v1/operations": ["GET"],
  "/api/v1/operations/{operationId}": ["GET"],
  "/api/v1/operations/{operationId}/cancel": ["POST"],
  "/api/v1/pipelines": ["GET", "POST"],
  "/api/v1/pipelines/{id}": ["DELETE", "GET", "PUT"],
  "/api/v1/pipelines/{id}/clone": ["POST"],
  "/api/v1/pipelines/{id}/history": ["GET"],
  "/api/v1/pipelines/{id}/validate": ["GET", "POST"],
  "/api/v1/pipelines/execute": ["POST"],
  "/api/v1/query": ["POST"],
  "/api/v1/reset": ["GET", "POST"],
  "/api/v1/retention/cleanup": ["POST"],
  "/api/v1/scheduler/jobs": ["GET", "POST"],
  "/api/v1/scheduler/jobs/{id}": ["DELETE", "GET", "PUT"],
  "/api/v1/scheduler/jobs/{id}/disable": ["POST"],
  "/api/v1/scheduler/jobs/{id}/enable": ["POST"],
  "/api/v1/scheduler/jobs/{id}/logs": ["GET"],
  "/api/v1/scheduler/jobs/{id}/run": ["POST"],
  "/api/v1/storage": ["GET"],
  "/api/v1/storage/history": ["GET"],
  "/api/v1/storage/samples": ["POST"],
  "/api/v1/tokens": ["GET", "POST"],
  "/api/v1/tokens/{tokenId}": ["DELETE", "GET"],
  "/api/v1/users": ["GET", "POST"],
  "/api/v1/users/{userId}": ["DELETE", "GET", "PATCH"],
};

const COMPILED = Object.entries(API_ROUTE_METHODS).map(([template, methods]) => ({
  template,
  segments: template.split("/").slice(1),
  methods,
}));

/**
 * The route Next.js would pick for a path (a literal segment beats a `{param}` one, as in its
 * router), or null when no listed route matches.
 */
function matchRoute(pathname: string) {
  const parts = pathname.replace(/\/+$/, "").split("/").slice(1);
  let best: { score: number[]; template: string; methods: readonly string[] } | null = null;
  for (const route of COMPILED) {
    if (route.segments.length !== parts.length) continue;
    const score: number[] = [];
    let ok = true;
    for (const [index, segment] of route.segments.entries()) {
      const dynamic = segment.startsWith("{");
      if (!dynamic && segment !== parts[index]) {
        ok = false;
        break;
      }
      score.push(dynamic ? 0 : 1);
    }
    if (ok && (!best || compareScores(score, best.score) > 0)) best = { score, template: route.template, methods: route.methods };
  }
  return best;
}

function compareScores(a: number[], b: number[]): number {
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return 0;
}

/**
 * The methods a path answers (Next.js adds HEAD beside GET, and OPTIONS, itself), or null when the
 * path is not a listed route.
 */
export function allowedMethods(pathname: string): string[] | null {
  const route = matchRoute(pathname);
  if (!route) return null;
  return [...new Set([...route.methods, ...(route.methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"])];
}

/**
 * The listed route a path is, by the same choice as allowedMethods: its template
 * (`/api/v1/jobs/{id}`), the methods its file exports and the path's values of its parameters (as
 * written in the path: the caller passes only paths without percent-escapes). Null when not listed.
 */
export function apiRouteOf(pathname: string): { template: string; methods: readonly string[]; params: Record<string, string> } | null {
  const route = matchRoute(pathname);
  if (!route) return null;
  const parts = pathname.replace(/\/+$/, "").split("/").slice(1);
  const params: Record<string, string> = {};
  for (const [index, segment] of route.template.split("/").slice(1).entries()) {
    if (segment.startsWith("{")) params[segment.slice(1, -1)] = parts[index]!;
  }
  return { template: route.template, methods: route.methods, params };
}

/** Throws the 404 an unknown /api/v1 path answers. */
export function unknownApiRoute(url: URL): never {
  throw new AppError("not_found", `No API route ${url.pathname}; GET /api/v1/openapi.json lists every route`);
}
