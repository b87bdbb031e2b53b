import { z } from "zod";
import { AppError } from "@/lib/errors";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/**
 * `?limit=&cursor=` for every list. The cursor is opaque to callers (base64url JSON of the last
 * row's sort key), so keyset pagination stays fast at any depth and can change shape later.
 */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z.string().max(512).optional(),
});
export type PageQuery = z.infer<typeof pageQuery>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** Decodes a cursor made by encodeCursor and checks its shape; a tampered cursor is a 400. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, shape: S): z.output<S> | null {
  if (!cursor) return null;
  try {
    return shape.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw new AppError("invalid_cursor", "The cursor is not one this server issued; start again without it");
  }
}

/** A list page's address at `cursor` (null: the first page), keeping its other query parameters (filters). */
export function pageHref(basePath: string, params: Record<string, string | undefined>, cursor: string | null): string {
  const search = new URLSearchParams(Object.entries(params).filter((entry): entry is [string, string] => Boolean(entry[1]) && entry[0] !== "cursor"));
  if (cursor) search.set("cursor", cursor);
  const query = search.toString();
  return query ? `${basePath}?${query}` : basePath;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only says whether there is a next page.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => Record<string, string | number>): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
