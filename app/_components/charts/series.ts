import type { SampleSeries } from "@/lib/storage/types";

/** One colour and label per sampled series, the same on every chart. */
export const SERIES_STYLE: Record<SampleSeries, { label: string; color: string }> = {
  mimir_data: { label: "data", color: "#0284c7" },
  mimir_logs: { label: "logs", color: "#f59e0b" },
  mimir_config: { label: "config", color: "#64748b" },
  mimir_plugins: { label: "plugins", color: "#8b5cf6" },
  mimir_pipelines: { label: "pipelines", color: "#10b981" },
  backups: { label: "backups", color: "#ef4444" },
  database: { label: "database file", color: "#0369a1" },
  database_wal: { label: "WAL", color: "#38bdf8" },
  vector_db: { label: "vector database", color: "#a855f7" },
};

/** Axis ticks: hours and minutes within a day, the date beyond. */
export function tickTime(iso: string, bucket: "10min" | "hour" | "day"): string {
  const text = new Date(iso).toISOString();
  return bucket === "10min" ? text.slice(11, 16) : bucket === "hour" ? `${text.slice(5, 10)} ${text.slice(11, 13)}h` : text.slice(5, 10);
}

/**
 * Samples are points in time, not a curve: lines between them are straight (a smoothed line through
 * three samples draws a hump that was never measured), and with this few points each is marked.
 */
export const SPARSE_POINTS = 24;

/** The dot to draw on each sample: shown while the series is sparse. */
export function sampleDots(points: number, color: string, radius = 2.5): false | { r: number; fill: string; stroke: string } {
  return points <= SPARSE_POINTS ? { r: radius, fill: color, stroke: color } : false;
}
