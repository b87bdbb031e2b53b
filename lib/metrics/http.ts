import "server-only";
import { Counter, Histogram, Registry } from "prom-client";
import { processState } from "@/lib/process-state";

/** Upper bounds of the HTTP latency histogram, in seconds. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface HttpMetrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route" | "status">;
}

/**
 * The HTTP counters, which every route bundle adds to: one set per process. This module imports no
 * capability, so that lib/http.ts (loaded by every route) stays small; the gauges that read the
 * capabilities live in lib/metrics/collectors.ts, loaded by /metrics alone.
 */
function httpMetrics(): HttpMetrics {
  return processState("metrics", () => {
    const registry = new Registry();
    const registers = [registry];
    const httpRequests = new Counter({
      name: "mimir_http_requests_total",
      help: "HTTP requests answered by the API, /health and /metrics",
      labelNames: ["method", "route", "status"] as const,
      registers,
    });
    const httpDuration = new Histogram({
      name: "mimir_http_request_duration_seconds",
      help: "Time to answer an HTTP request",
      labelNames: ["method", "route", "status"] as const,
      buckets: [...HTTP_DURATION_BUCKETS],
      registers,
    });
    return { registry, httpRequests, httpDuration };
  });
}

/** The registry holding the HTTP counters (merged into the scrape by collectors.ts). */
export function httpMetricsRegistry(): Registry {
  return httpMetrics().registry;
}

/**
 * Distinct route labels the HTTP series may carry. The app has a few dozen route files; past this
 * every new label is counted as OTHER_ROUTE, so no sequence of requests can grow the series without
 * end even if a template were ever derived wrongly.
 */
export const MAX_ROUTE_LABELS = 256;
/** The one label for a request whose route template cannot be told. */
export const OTHER_ROUTE = "other";
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const STATIC_SEGMENT = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_SEGMENTS = 12;

// Process-wide like the counters they label.
const routeLabels = () => processState("routeLabels", () => new Set<string>());

/**
 * Counts one answered request and its latency under its route template (`routeTemplate`), so the
 * label set is the app's route files, whatever the URL held.
 */
export function recordHttpRequest(method: string, template: string, status: number, ms: number): void {
  const labels = { method: HTTP_METHODS.has(method) ? method : "OTHER", route: boundedLabel(template), status: String(status) };
  const { httpRequests, httpDuration } = httpMetrics();
  httpRequests.inc(labels);
  httpDuration.observe(labels, ms / 1000);
}

function boundedLabel(template: string): string {
  const seen = routeLabels();
  if (seen.has(template)) return template;
  if (seen.size >= MAX_ROUTE_LABELS) return OTHER_ROUTE;
  seen.add(template);
  return template;
}

/**
 * The route file's template (`/api/v1/jobs/[id]`) of a request that Next.js matched to it: each
 * dynamic segment's value, which Next.js hands over as `params`, is put back as `[name]`; what is
 * left are the static folder names of the route file. Anything that still does not look like a
 * folder name (a path the params do not explain) gives OTHER_ROUTE, never text from the URL.
 */
export function routeTemplate(pathname: string, params: Record<string, string | string[] | undefined>): string {
  const segments = pathname.split("/").filter(Boolean).map(decodeSegment);
  if (segments.length > MAX_SEGMENTS) return OTHER_ROUTE;
  let from = 0;
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value)) {
      // A catch-all takes the rest of the path: [...name] stands for all of it.
      const at = segments.length - value.length;
      if (at < from || value.some((part, i) => segments[at + i] !== part)) return OTHER_ROUTE;
      segments.splice(at, value.length, `[...${name}]`);
      from = at + 1;
      continue;
    }
    if (value === undefined) continue;
    const at = segments.indexOf(value, from);
    if (at < 0) return OTHER_ROUTE;
    segments[at] = `[${name}]`;
    from = at + 1;
  }
  if (!segments.every((segment) => /^\[(\.\.\.)?[A-Za-z]\w*\]$/.test(segment) || STATIC_SEGMENT.test(segment))) return OTHER_ROUTE;
  return "/" + segments.join("/");
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
