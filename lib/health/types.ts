/** JSON-safe shapes shared by /health, the Overview page and its client hook. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

export interface HealthReport {
  status: HealthStatus;
  time: string;
  persistence: { status: HealthStatus; backend: string; path: string; schema_version?: string | null; error?: string };
  vector_db: { enabled: boolean; path: string; exists: boolean; bytes: number | null };
  disk: { path: string; free_bytes: number; total_bytes: number; free_ratio: number } | null;
  /** why the status is not healthy; empty when healthy */
  reasons: string[];
  /** how many of the reasons (the last ones) are active storage alerts */
  storage_alerts: number;
  uptime_seconds: number;
}
