import Link from "next/link";
import { pageHref } from "@/lib/pagination";

/**
 * Keyset pagination links: "Newest" drops the cursor, "Older"/"Next" carries the server's next cursor.
 * Other query parameters (filters) are kept.
 */
export function Pager({
  basePath,
  params,
  nextCursor,
  hasCursor,
  nextLabel = "Next page",
}: {
  basePath: string;
  params: Record<string, string | undefined>;
  nextCursor: string | null;
  hasCursor: boolean;
  nextLabel?: string;
}) {
  const href = (cursor: string | null) => pageHref(basePath, params, cursor);
  if (!hasCursor && !nextCursor) return null;
  return (
    <nav aria-label="Pagination" className="mt-4 flex items-center justify-between text-sm">
      {hasCursor ? (
        <Link href={href(null)} className="font-medium text-sky-700 hover:underline">
          ← First page
        </Link>
      ) : (
        <span />
      )}
      {nextCursor && (
        <Link href={href(nextCursor)} className="font-medium text-sky-700 hover:underline">
          {nextLabel} →
        </Link>
      )}
    </nav>
  );
}
