import { formatAge, formatTimestamp } from "@/lib/format";

/**
 * "measured 3 min ago", with the exact time on hover: every number read from a measurement says how
 * old it is. The age is relative to the clock that renders it, so server and browser may differ by
 * a minute: the text is allowed to settle on hydration rather than raise a mismatch.
 */
export function MeasuredAt({ at, verb = "measured", className = "" }: { at: string | null | undefined; verb?: string; className?: string }) {
  return (
    <span className={className} title={at ? formatTimestamp(at) : undefined} data-testid="measured-age" suppressHydrationWarning>
      {at ? `${verb} ${formatAge(at)}` : `not ${verb} yet`}
    </span>
  );
}
