"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/api-client";
import type { HistoryRange, StorageAlert, StorageHistory } from "@/lib/storage/types";

/** Alerts are re-read this often, so the banner follows a sample without a reload. */
export const ALERTS_REFRESH_MS = 15_000;
/** Charts move at the sampling pace; a minute is plenty. */
export const HISTORY_REFRESH_MS = 60_000;

export const storageKeys = {
  all: ["storage"] as const,
  history: (range: HistoryRange) => ["storage", "history", range] as const,
  alerts: ["storage", "alerts"] as const,
};

export function useStorageHistory(range: HistoryRange, initial?: StorageHistory) {
  return useQuery({
    queryKey: storageKeys.history(range),
    queryFn: ({ signal }) => apiFetch<StorageHistory>(`/api/v1/storage/history?range=${range}`, { signal }),
    initialData: initial?.range === range ? initial : undefined,
    placeholderData: keepPreviousData,
    refetchInterval: HISTORY_REFRESH_MS,
  });
}

export function useAlerts(initialData: StorageAlert[]) {
  return useQuery({
    queryKey: storageKeys.alerts,
    queryFn: async ({ signal }) => (await apiFetch<{ items: StorageAlert[] }>("/api/v1/alerts", { signal })).items,
    initialData,
    refetchInterval: ALERTS_REFRESH_MS,
  });
}
