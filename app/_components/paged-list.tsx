"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/app/_components/ui/button";
import { apiFetch } from "@/lib/api-client";
import type { Page } from "@/lib/pagination";

/**
 * Keyset pages of one of the product's list routes (`?limit=&cursor=` → `{items, next_cursor}`):
 * the first page comes from the server render, later ones from the API. Previous pages are
 * remembered as a stack of cursors, since a keyset cursor only points forward.
 */
export function usePagedList<T>(queryKey: readonly unknown[], path: string, initialData: Page<T>) {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const separator = path.includes("?") ? "&" : "?";
  const query = useQuery({
    queryKey: [...queryKey, cursor ?? null],
    queryFn: ({ signal }) => apiFetch<Page<T>>(cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path, { signal }),
    initialData: cursor ? undefined : initialData,
  });
  const page = query.data ?? { items: [], next_cursor: null };
  return {
    items: page.items,
    error: query.error,
    loading: query.isFetching,
    pageNumber: cursors.length + 1,
    next: page.next_cursor ? () => setCursors([...cursors, page.next_cursor!]) : null,
    previous: cursors.length > 0 ? () => setCursors(cursors.slice(0, -1)) : null,
  };
}

export function Pager({ pageNumber, next, previous, label }: { pageNumber: number; next: (() => void) | null; previous: (() => void) | null; label: string }) {
  if (!next && !previous) return null;
  return (
    <nav aria-label={`${label} pages`} className="mt-3 flex items-center justify-end gap-2 text-sm text-slate-600">
      <span>Page {pageNumber}</span>
      <Button type="button" variant="secondary" disabled={!previous} onClick={() => previous?.()}>
        Previous
      </Button>
      <Button type="button" variant="secondary" disabled={!next} onClick={() => next?.()}>
        Next
      </Button>
    </nav>
  );
}
