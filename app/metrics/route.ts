import crypto from "node:crypto";
import { getConfig } from "@/lib/config/service";
import { route } from "@/lib/http";
import { renderMetrics, warmUpMetrics } from "@/lib/metrics/collectors";
import { warmUpAtBoot } from "@/lib/direct-routes";
import { authenticate } from "@/lib/auth/request";
import { API_TOKEN_PREFIX } from "@/lib/auth/service";

/** Prometheus scrape: a token with the read scope, or anyone when server.metrics_public is true. */
export const GET = route({ access: "read", publicWhen: () => getConfig().values.server.metrics_public }, async () => {
  const { text, contentType, serverTiming } = await renderMetrics();
  return new Response(text, { headers: { "Content-Type": contentType, "Cache-Control": "no-store", "Server-Timing": serverTiming } });
});

// A scrape's reads and a token's lookup (a token no one holds: it matches nothing, and changes nothing).
warmUpAtBoot("/metrics", () =>
  Promise.all([warmUpMetrics(), authenticate({ authorization: `Bearer ${API_TOKEN_PREFIX}${crypto.randomBytes(24).toString("hex")}`, sessionToken: null })]),
);
