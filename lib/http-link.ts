import type { Page } from "@/lib/pagination";

/**
 * Mimir-compatible list routes answer a bare JSON array; the next page's cursor travels in a
 * `Link: <…?cursor=…>; rel="next"` header (RFC 8288) instead of the body.
 */
export function bareArrayPage<T>(url: URL, page: Page<T>): Response {
  const headers = new Headers();
  if (page.next_cursor) {
    const next = new URL(url);
    next.searchParams.set("cursor", page.next_cursor);
    headers.set("Link", `<${next.pathname}${next.search}>; rel="next"`);
  }
  return Response.json(page.items, { headers });
}
