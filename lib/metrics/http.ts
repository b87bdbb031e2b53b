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
 * Counts one answered request and its latency. The route label keeps /api/v1/<resource>, and turns
 * deeper segments that look like ids into ":id", so the label set stays bounded.
 */
export function recordHttpRequest(method: string, pathname: string, status: number, ms: number): void {
  const labels = { method, route: routeLabel(pathname), status: String(status) };
  const { httpRequests, httpDuration } = httpMetrics();
  httpRequests.inc(labels);
  httpDuration.observe(labels, ms / 1000);
}

export function routeLabel(pathname: string): string {
  const segments = pathname.split("/").filter(Boolean);
  return (
    "/" +
    segments
      .map((segment, i) => (i >= 3 && !/^[a-z_]+$/.test(segment) ? ":id" : segment))
      .join("/")
  );
}
