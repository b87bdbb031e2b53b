/**
 * The peers' /metrics answer (bench/metrics-scrape.ts): Prometheus text of about the size of our
 * scrape's (9.3 KB with 1,000,000 runs), fixed, so that a peer's scrape costs its reads and the
 * sending of such a body and nothing else.
 */
export const METRICS_BODY = Array.from(
  { length: 83 },
  (_, i) => `# HELP peer_metric_${i} A value the peer reports\n# TYPE peer_metric_${i} gauge\npeer_metric_${i}{instance="peer"} ${(i * 7919) % 100003}\n`,
).join("");
