import { Sparkline } from "@/app/_components/charts/sparkline";
import { SERIES_STYLE } from "@/app/_components/charts/series";
import { formatBytes, formatBytesChange } from "@/lib/format";
import type { StorageHistory, StorageUsage, VolumeTrend } from "@/lib/storage/types";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";

/**
 * Each volume's size (the Storage page's measurement), its change over a day and a sparkline of
 * that day, both from the stored samples.
 */
export function VolumeTrends({ usage, trends, history }: { usage: StorageUsage; trends: VolumeTrend[]; history: StorageHistory }) {
  const byVolume = new Map(trends.map((t) => [t.volume, t]));
  const sizes = new Map(usage.volumes.map((v) => [v.volume, v.bytes]));
  return (
    <ul className="divide-y divide-slate-100">
      {WATCHED_VOLUMES.map((volume) => {
        const trend = byVolume.get(volume);
        const values = history.volumes.map((p) => p[volume]).filter((v): v is number => v !== undefined);
        return (
          <li key={volume} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 sm:flex-nowrap sm:gap-4" data-testid={`trend-${volume}`}>
            <span className="w-full text-sm font-medium text-slate-800 sm:w-36">{volume}</span>
            <span className="w-20 whitespace-nowrap text-sm tabular-nums text-slate-900 sm:w-24 sm:text-right" data-testid={`overview-size-${volume}`}>
              {formatBytes(sizes.get(volume))}
            </span>
            <span className={`w-28 whitespace-nowrap text-right text-xs tabular-nums ${(trend?.change_24h ?? 0) > 0 ? "text-amber-800" : "text-slate-600"}`}>
              {trend?.change_24h === null || trend === undefined ? "—" : `${formatBytesChange(trend.change_24h)} / 24 h`}
            </span>
            <Sparkline values={values} color={SERIES_STYLE[volume].color} />
          </li>
        );
      })}
      {trends.length === 0 && (
        <li className="pt-2 text-xs text-slate-500">No storage sample yet: the day&apos;s change and trend start with the first sample.</li>
      )}
    </ul>
  );
}
