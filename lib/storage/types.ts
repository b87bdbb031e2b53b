/** JSON-safe shapes shared by the storage API, its pages and their client hooks. */
import { WATCHED_VOLUMES, type WatchedVolume } from "@/lib/config/volumes";

/** A series of storage samples that is a volume or the backups folder (lib/config/volumes.ts). */
export type StorageVolume = WatchedVolume;

/** Sampled series that are files inside mimir_data rather than volumes of their own. */
export const DATABASE_SERIES = ["database", "database_wal", "vector_db"] as const;
export type DatabaseSeries = (typeof DATABASE_SERIES)[number];

export const SAMPLE_SERIES = [...WATCHED_VOLUMES, ...DATABASE_SERIES] as const;
export type SampleSeries = (typeof SAMPLE_SERIES)[number];

export interface FilesystemSpace {
  free_bytes: number;
  total_bytes: number;
}

export interface VolumeUsage {
  volume: StorageVolume;
  path: string;
  exists: boolean;
  bytes: number;
  files: number;
  folders: number;
  unreadable: number;
  largest: { path: string; bytes: number }[];
  filesystem: FilesystemSpace | null;
}

export interface DatabaseUsage {
  path: string;
  file_bytes: number;
  wal_bytes: number;
  shm_bytes: number;
  page_size: number;
  page_count: number;
  free_pages: number;
  tables: { name: string; rows: number; bytes: number | null }[];
  vector_db: { path: string; enabled: boolean; bytes: number | null };
}

export interface StorageUsage {
  measured_at: string;
  /** how long the walk of every volume took */
  scan_ms: number;
  volumes: VolumeUsage[];
  database: DatabaseUsage;
}

export const HISTORY_RANGES = ["24h", "7d", "30d", "90d"] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

/** One point of the stacked volume chart: bucket start and bytes per series. */
export type VolumePoint = { t: string } & Partial<Record<SampleSeries, number>>;

export interface ExecutionPoint {
  t: string;
  success: number;
  failed: number;
  other: number;
}

export interface DiskProjection {
  /** free and total bytes of the disk holding the data volume at the latest sample */
  free_bytes: number | null;
  total_bytes: number | null;
  /** when that sample was taken */
  measured_at: string | null;
  /** samples in the projection window, and the hours they span */
  samples: number;
  history_hours: number;
  /** what a projection needs: this many samples spanning this many hours */
  needed_samples: number;
  needed_hours: number;
  /** false until the samples reach needed_samples and needed_hours; every rate below is then null */
  enough_history: boolean;
  /** bytes per hour Mimir's volumes (the five and backups) grow, negative when they shrink */
  growth_bytes_per_hour: number | null;
  /** bytes per hour the rest of that disk takes (other programs), negative when it frees space */
  other_growth_bytes_per_hour: number | null;
  /** when the disk is full at Mimir's rate; null when Mimir's volumes are not growing */
  full_at: string | null;
  hours_left: number | null;
}

export interface StorageHistory {
  range: HistoryRange | null;
  since: string;
  /** the width of one point in the series, by the time prefix it groups on */
  bucket: "10min" | "hour" | "day";
  volumes: VolumePoint[];
  executions: ExecutionPoint[];
  projection: DiskProjection;
}

export interface VolumeTrend {
  volume: SampleSeries;
  bytes: number;
  files: number;
  /** change over the last 24 h (from the oldest sample in that window); null with one sample only */
  change_24h: number | null;
  measured_at: string;
}

export type AlertState = "raised" | "cleared";

export interface StorageAlert {
  key: string;
  state: AlertState;
  message: string;
  value: number;
  raise_at: number;
  clear_at: number;
  raised_at: string | null;
  cleared_at: string | null;
}
