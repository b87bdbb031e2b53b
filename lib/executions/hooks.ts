"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/api-client";
import type { ExecutionLog } from "@/lib/executions/types";

/** How often a running run's log is asked for more. */
export const LOG_POLL_MS = 1000;

export const executionKeys = {
  log: (id: string) => ["executions", id, "log"] as const,
};

/** Reads a run's log in chunks from offset 0 and keeps following it while the run is running. */
export function useExecutionLog(id: string) {
  return useInfiniteQuery({
    queryKey: executionKeys.log(id),
    initialPageParam: 0,
    queryFn: ({ pageParam, signal }) => apiFetch<ExecutionLog>(`/api/v1/logs/executions/${encodeURIComponent(id)}?offset=${pageParam}`, { signal }),
    getNextPageParam: (last) => (last.complete ? undefined : last.next_offset),
  });
}
