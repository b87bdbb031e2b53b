"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/api-client";
import type { Page } from "@/lib/pagination";
import type { BackupDto } from "@/lib/backups/types";

export const backupKeys = {
  all: ["backups"] as const,
  list: (cursor: string | null) => ["backups", "list", cursor ?? "first"] as const,
};

/**
 * One page of sets; the server renders the first read, this keeps it fresh, polling every
 * `pollMs` while the page says something in it is moving (offsite copies).
 */
export function useBackups<T extends BackupDto = BackupDto>(
  cursor: string | null,
  initialData: Page<T>,
  limit: number,
  pollMs: (page: Page<T> | undefined) => number | false = () => false,
) {
  return useQuery({
    queryKey: backupKeys.list(cursor),
    queryFn: ({ signal }) => apiFetch<Page<T>>(`/api/v1/backups?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal }),
    initialData,
    refetchInterval: (query) => pollMs(query.state.data),
  });
}
