"use client";

import { useQuery } from "@tanstack/react-query";
import type { HealthReport } from "@/lib/health/types";

/** How often the Overview asks /health again. */
export const HEALTH_REFRESH_MS = 5_000;

export const healthKeys = { all: ["health"] as const };

/** Live /health; a 503 still carries the report, so it is read rather than thrown. */
export function useHealth(initialData: HealthReport) {
  return useQuery({
    queryKey: healthKeys.all,
    queryFn: async ({ signal }) => {
      const response = await fetch("/health", { signal, cache: "no-store" });
      return (await response.json()) as HealthReport;
    },
    initialData,
    refetchInterval: HEALTH_REFRESH_MS,
  });
}
