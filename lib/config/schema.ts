import { z } from "zod";

/**
 * The shape of `config/config.yaml`. The `persistence:` keys are Mimir AIP's own, so an existing
 * file keeps working; the sibling trees are this product's. Every key has a default, so an absent
 * file is a valid configuration. Unknown keys are kept out of the parsed result but reported
 * (see `unknownKeys` in load.ts): Mimir's file holds trees of its own that we must not reject.
 */
const cron = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4,5}\S+$/, "a cron expression of 5 or 6 fields, e.g. '0 2 * * *'");

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();

/** YAML and environment both produce strings for booleans; accept the usual spellings only. */
const flag = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  const lower = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(lower)) return true;
  if (["false", "0", "no", "off"].includes(lower)) return false;
  return value;
}, z.boolean());

export const persistenceSchema = z.object({
  enabled: flag.default(true),
  backend: z.enum(["sqlite", "postgres"]).default("sqlite"),
  database_path: z.string().min(1).default("./data/mimir.db"),
  connection_string: z.string().default(""),
  vector_db_path: z.string().min(1).default("./data/chromem.db"),
  enable_vector_db: flag.default(true),
  backup_enabled: flag.default(false),
  backup_path: z.string().min(1).default("./backups"),
  retention_days: nonNegativeInt.default(30),
});

export const backupsSchema = z.object({
  schedule: cron.default("0 2 * * *"),
  prune_schedule: cron.default("0 3 * * *"),
  keep_days: positiveInt.default(7),
  keep_min: positiveInt.default(3),
  passphrase_file: z.string().default(""),
  verify_schedule: cron.default("0 4 * * 0"),
});

/** The volumes a size alert can watch: the five of the guide plus the backups folder. */
export const WATCHED_VOLUMES = ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines", "backups"] as const;

/**
 * An alert raises when its value crosses `raise` and clears only once it is back past `clear`, so a
 * value hovering at the line does not flap. `direction` says which side of the line is bad.
 */
function threshold(direction: "above" | "below", unit: string, max = Number.MAX_SAFE_INTEGER) {
  const level = z.coerce.number().nonnegative().max(max, `at most ${max} (${unit})`);
  return z
    .object({ raise: level, clear: level })
    .refine((t) => (direction === "above" ? t.clear < t.raise : t.clear > t.raise), {
      message: `'clear' must be ${direction === "above" ? "below" : "above"} 'raise' (${unit}), so the alert cannot flap`,
    });
}

export const storageAlertsSchema = z.object({
  /** Size thresholds per volume, in bytes; mimir_data defaults to storage.alert_threshold_gb, other volumes have none. */
  volume_bytes: z.partialRecord(z.enum(WATCHED_VOLUMES), threshold("above", "bytes")).default({}),
  /** Free share of the filesystem holding the data volume (0.10 = 10 %). */
  disk_free_ratio: threshold("below", "a ratio: 0.1 is 10 %", 1).default({ raise: 0.1, clear: 0.12 }),
  /** Hours until that filesystem is full at the growth rate of the last day. */
  disk_full_hours: threshold("below", "hours").default({ raise: 24, clear: 48 }),
});

export const storageSchema = z.object({
  /** How often volumes are measured; fractions of a minute are allowed for tests and demos. */
  sample_interval_minutes: z.coerce.number().positive().default(15),
  /**
   * The guide's alert.sh THRESHOLD_GB: alert when the data volume grows past this many GB (clearing
   * under 90 % of it). storage.alerts.volume_bytes.mimir_data, when set, takes its place.
   */
  alert_threshold_gb: z.coerce.number().positive().default(10),
  alert_webhook_url: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]).default(""),
  alerts: storageAlertsSchema.default(storageAlertsSchema.parse({})),
});

export const auditSchema = z.object({
  /** audit rows older than this are deleted */
  retention_days: positiveInt.default(90),
});

export const loggingSchema = z.object({
  level: z.enum(["error", "warn", "info", "debug"]).default("info"),
  max_file_bytes: positiveInt.default(10 * 1024 * 1024),
  max_files: positiveInt.default(5),
  retention_days: nonNegativeInt.default(14),
});

/** The listening port is not here: it is the process's PORT (default 8080), read by `npm start` and the image. */
export const serverSchema = z.object({
  metrics_public: flag.default(false),
  /**
   * The console is reached through a reverse proxy that appends the client's address to
   * X-Forwarded-For: the last entry is then the caller's address (audit log, sign-in limits). Off,
   * the socket's address is used and X-Forwarded-For is ignored, since any client can send it.
   */
  trust_proxy: flag.default(false),
});

export const configFileSchema = z.object({
  persistence: persistenceSchema.default(persistenceSchema.parse({})),
  backups: backupsSchema.default(backupsSchema.parse({})),
  storage: storageSchema.default(storageSchema.parse({})),
  logging: loggingSchema.default(loggingSchema.parse({})),
  server: serverSchema.default(serverSchema.parse({})),
  audit: auditSchema.default(auditSchema.parse({})),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/** Keys whose values are secrets (a connection string's password, a webhook URL's embedded token): never logged, never returned, masked on the Settings page. */
export const SECRET_KEYS = new Set(["persistence.connection_string", "storage.alert_webhook_url"]);
