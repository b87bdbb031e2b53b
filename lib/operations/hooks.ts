"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/api-client";
import type { OperationDto } from "@/lib/operations/types";

/** How often a running operation is polled for progress. */
export const OPERATION_POLL_MS = 500;

export const operationKeys = {
  all: ["operations"] as const,
  one: (id: string) => ["operations", id] as const,
};

/** Polls an operation while it runs, then stops. */
export function useOperation(id: string | null, initialData?: OperationDto) {
  return useQuery({
    queryKey: operationKeys.one(id ?? "none"),
    queryFn: ({ signal }) => apiFetch<OperationDto>(`/api/v1/operations/${id}`, { signal }),
    enabled: id !== null,
    initialData,
    refetchInterval: (query) => (query.state.data && query.state.data.status !== "running" ? false : OPERATION_POLL_MS),
  });
}

/** While the latest operation of a kind is idle, it is looked at this often: a start elsewhere (another tab, a script) shows up. */
export const IDLE_OPERATION_POLL_MS = 10_000;

/** The newest operation of `kind` (null before any), polled quickly while it runs and slowly otherwise. */
export function useLatestOperation(kind: string) {
  return useQuery({
    queryKey: [...operationKeys.all, "latest", kind],
    queryFn: async ({ signal }) =>
      (await apiFetch<{ items: OperationDto[] }>(`/api/v1/operations?kind=${encodeURIComponent(kind)}&limit=1`, { signal })).items[0] ?? null,
    refetchInterval: (query) => (query.state.data?.status === "running" ? OPERATION_POLL_MS : IDLE_OPERATION_POLL_MS),
  });
}
