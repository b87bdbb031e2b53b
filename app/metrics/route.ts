import { getConfig } from "@/lib/config/service";
import { route } from "@/lib/http";
import { renderMetrics, warmUpMetrics } from "@/lib/metrics/collectors";
import { warmUpAtBoot } from "@/lib/direct-routes";

/** Prometheus scrape: a token with the read scope, or anyone when server.metrics_public is true. */
export const GET = route({ access: "read", publicWhen: () => getConfig().values.server.metrics_public }, async () => {
  const { text, contentType, serverTiming } = await renderMetrics();
  return new Response(text, { headers: { "Content-Type": contentType, "Cache-Control": "no-store", "Server-Timing": serverTiming } });
});

warmUpAtBoot("/metrics", warmUpMetrics);
