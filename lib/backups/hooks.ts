"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/api-client";
import type { Page } from "@/lib/pagination";
import type { BackupDto } from "@/lib/backups/types";

export const backupKeys = {
  all: ["backups"] as const,
  list: (cursor: string | null) => ["backups", "list", cursor ?? "first"] as const,
};

/** One page of sets; the server renders the first read, this keeps it fresh. */
export function useBackups(cursor: string | null, initialData: Page<BackupDto>, limit: number) {
  return useQuery({
    queryKey: backupKeys.list(cursor),
    queryFn: ({ signal }) => apiFetch<Page<BackupDto>>(`/api/v1/backups?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal }),
    initialData,
  });
}
