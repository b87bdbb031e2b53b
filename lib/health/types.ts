/** JSON-safe shapes shared by /health, the Overview page and its client hook. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/**
 * Short, stable names for why the status is not healthy: the only reasons a caller without
 * credentials is told (the texts name paths, sizes and alert details).
 */
export const HEALTH_REASON_CODES = ["database_unreadable", "database_corrupt", "disk_low", "backup_problem", "offsite_problem", "storage_alert"] as const;
export type HealthReasonCode = (typeof HEALTH_REASON_CODES)[number];

export interface HealthReport {
  status: HealthStatus;
  time: string;
  /** `path` is the SQLite file, or postgres://host:port/database on PostgreSQL (never the user or password) */
  persistence: { status: HealthStatus; backend: string; path: string; host?: string; database?: string; schema_version?: string | null; error?: string };
  vector_db: { enabled: boolean; path: string; exists: boolean; bytes: number | null };
  disk: { path: string; free_bytes: number; total_bytes: number; free_ratio: number } | null;
  /** why the status is not healthy; empty when healthy */
  reasons: string[];
  /** the reasons as codes, each once, in the order first met */
  reason_codes: HealthReasonCode[];
  /** how many of the reasons (the last ones) are active storage alerts */
  storage_alerts: number;
  uptime_seconds: number;
}

/**
 * /health for a caller without credentials (probes, load balancers): the operations guide's shape,
 * the database path relative to MIMIR_HOME as the guide writes it, and reason codes only.
 */
export interface PublicHealthReport {
  status: HealthStatus;
  time: string;
  persistence: { status: HealthStatus; backend: string; path: string; host?: string; database?: string };
  reason_codes: HealthReasonCode[];
}
