import { formatBytes, formatCount } from "@/lib/format";

/** A determinate bar when the total is known, an indeterminate one (animated stripe) when not. */
export function ProgressBar({ done, total, unit, label }: { done: number; total: number | null; unit: string | null; label: string }) {
  const ratio = total && total > 0 ? Math.min(1, done / total) : null;
  const amount = (n: number) => (unit === "bytes" ? formatBytes(n) : `${formatCount(n)}${unit ? ` ${unit}` : ""}`);
  return (
    <div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={ratio === null ? undefined : Math.round(ratio * 100)}
        className="h-2 w-full overflow-hidden rounded-full bg-slate-200"
      >
        <div
          className={`h-full rounded-full bg-sky-600 transition-[width] ${ratio === null ? "w-1/3 animate-pulse" : ""}`}
          style={ratio === null ? undefined : { width: `${ratio * 100}%` }}
        />
      </div>
      <div className="mt-1 flex justify-between text-xs tabular-nums text-slate-500">
        <span>{total ? `${amount(done)} of ${amount(total)}` : done ? amount(done) : "starting…"}</span>
        {ratio !== null && <span>{Math.round(ratio * 100)}%</span>}
      </div>
    </div>
  );
}
