import { Sparkline } from "@/app/_components/charts/sparkline";
import { SERIES_STYLE } from "@/app/_components/charts/series";
import { formatAge, formatBytes, formatBytesChange } from "@/lib/format";
import { type StorageHistory, type VolumeTrend } from "@/lib/storage/types";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";

/** Each volume's last sampled size, its change over a day and a sparkline of that day. */
export function VolumeTrends({ trends, history }: { trends: VolumeTrend[]; history: StorageHistory }) {
  const byVolume = new Map(trends.map((t) => [t.volume, t]));
  if (trends.length === 0) {
    return <p className="text-sm text-slate-500">No storage sample yet: the first is taken at start-up, then on the Storage page&apos;s schedule.</p>;
  }
  return (
    <ul className="divide-y divide-slate-100">
      {WATCHED_VOLUMES.map((volume) => {
        const trend = byVolume.get(volume);
        const values = history.volumes.map((p) => p[volume]).filter((v): v is number => v !== undefined);
        return (
          <li key={volume} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2 sm:flex-nowrap sm:gap-4" data-testid={`trend-${volume}`}>
            <span className="w-full text-sm font-medium text-slate-800 sm:w-36">{volume}</span>
            <span className="w-20 text-sm tabular-nums text-slate-900 sm:w-24 sm:text-right">{formatBytes(trend?.bytes)}</span>
            <span className={`w-28 text-right text-xs tabular-nums ${(trend?.change_24h ?? 0) > 0 ? "text-amber-700" : "text-slate-500"}`}>
              {trend?.change_24h === null || trend === undefined ? "—" : `${formatBytesChange(trend.change_24h)} / 24 h`}
            </span>
            <Sparkline values={values} color={SERIES_STYLE[volume].color} />
          </li>
        );
      })}
      <li className="pt-2 text-xs text-slate-400">sampled {formatAge(trends[0]?.measured_at)}</li>
    </ul>
  );
}
