const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"] as const;

/** 1536 → "1.5 KB" (powers of 1024, as du -h counts). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${bytes < 0 ? "-" : ""}${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 93_000 ms → "1m 33s"; under a second → "420 ms". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const totalSeconds = Math.round(ms / 1000);
  const days = Math.floor(totalSeconds / 86400);
  const hours = Math.floor((totalSeconds % 86400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const parts = days ? [`${days}d`, `${hours}h`] : hours ? [`${hours}h`, `${minutes}m`] : minutes ? [`${minutes}m`, `${seconds}s`] : [`${seconds}s`];
  return parts.join(" ");
}

/** "2025-01-15T02:00:00.000Z" → "2025-01-15 02:00:00 UTC": one unambiguous form on every page and export. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** How long ago, in the largest sensible unit: "3 min ago", "2 h ago", "5 d ago". */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const ms = now - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return "—";
  if (ms < 0) return "in the future";
  if (ms < 60_000) return "just now";
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : new Intl.NumberFormat("en-US").format(n);
}

/** "1 file", "2,048 files": a count with its noun, singular when it is one. */
export function formatCountOf(n: number, noun: string): string {
  return `${formatCount(n)} ${n === 1 ? noun : `${noun}s`}`;
}

export function formatPercent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? "—" : `${(ratio * 100).toFixed(1)}%`;
}

/** A change in size with its sign: 1536 → "+1.50 KB", -1536 → "−1.50 KB", 0 → "±0 B". */
export function formatBytesChange(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  if (bytes === 0) return "±0 B";
  return bytes > 0 ? `+${formatBytes(bytes)}` : `−${formatBytes(-bytes)}`;
}

/** Hours until something happens, in the largest sensible unit: 5.2 → "5 h", 50 → "2.1 d", 24 * 400 → "over a year". */
export function formatHoursLeft(hours: number | null | undefined): string {
  if (hours === null || hours === undefined || !Number.isFinite(hours) || hours < 0) return "—";
  if (hours < 1) return `${Math.max(1, Math.round(hours * 60))} min`;
  if (hours < 48) return `${Math.round(hours)} h`;
  if (hours < 24 * 365) return `${(hours / 24).toFixed(hours < 24 * 10 ? 1 : 0)} d`;
  return "over a year";
}

/**
 * A duration axis tick in one unit for the whole axis, chosen by its largest value, so ticks never
 * mix "0 ms" with "9s": 0, 2.5 s, 5 s… or 0, 10 min, 20 min…
 */
export function formatDurationTick(ms: number, axisMaxMs: number): string {
  if (!Number.isFinite(ms)) return "—";
  const units: [number, string][] = [
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
  ];
  // A unit once the axis reaches two of it: an axis to 90 s reads in seconds, one to 3 h in hours.
  const [size, unit] = units.find(([size]) => axisMaxMs >= 2 * size) ?? [1, "ms"];
  const value = ms / size;
  return `${formatCount(Number(value.toFixed(value !== 0 && Math.abs(value) < 10 && size > 1 ? 1 : 0)))} ${unit}`;
}
