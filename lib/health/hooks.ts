"use client";

import { useQuery } from "@tanstack/react-query";
import { AppError } from "@/lib/errors";
import type { HealthReport, PublicHealthReport } from "@/lib/health/types";

/** How often the Overview asks /health again. */
export const HEALTH_REFRESH_MS = 5_000;

export const healthKeys = { all: ["health"] as const };

/** Live /health; a 503 still carries the report, so it is read rather than thrown. */
export function useHealth(initialData: HealthReport) {
  return useQuery({
    queryKey: healthKeys.all,
    queryFn: async ({ signal }) => {
      const response = await fetch("/health", { signal, cache: "no-store" });
      const report = (await response.json()) as HealthReport | PublicHealthReport;
      // /health answers everyone, but with the public summary once the session has ended: sign in
      // again, as a 401 from any other query would make the page do (app/providers.tsx).
      if (!("vector_db" in report)) throw new AppError("unauthorized", "The session has ended; sign in again");
      return report;
    },
    initialData,
    refetchInterval: HEALTH_REFRESH_MS,
  });
}
