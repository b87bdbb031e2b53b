import { z } from "zod";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";
import { parseAllowEntry } from "@/lib/config/allow-list";

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

/**
 * The PostgreSQL connection pool, per process, in the guide's terms (Go database/sql: max open 10,
 * max idle 5, max lifetime 1 h). PostgreSQL's max_connections must cover instances × (max_open + 2).
 */
export const poolSchema = z.object({
  max_open: positiveInt.max(1000).default(10),
  /** idle connections kept; those above it close after 10 s idle */
  max_idle: nonNegativeInt.default(5),
  /** a connection is replaced after this long (0: never), so the server recycles backends and DNS changes are seen */
  max_lifetime_seconds: nonNegativeInt.default(3600),
  /** a request waits at most this long for a connection (connect or a free slot) before failing */
  connect_timeout_seconds: positiveInt.max(600).default(10),
});

export const persistenceSchema = z.object({
  enabled: flag.default(true),
  backend: z.enum(["sqlite", "postgres"]).default("sqlite"),
  database_path: z.string().min(1).default("./data/mimir.db"),
  /** postgres://user:password@host:5432/database?sslmode=…; a secret (SECRET_KEYS) */
  connection_string: z.string().default(""),
  pool: poolSchema.default(poolSchema.parse({})),
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

/**
 * An alert raises when its value crosses `raise` and clears only once it is back past `clear`, so a
 * value hovering at the line does not flap. `direction` says which side of the line is bad.
 */
function threshold(direction: "above" | "below", unit: string, max = Number.MAX_SAFE_INTEGER) {
  const level = z.coerce.number().nonnegative().max(max, `at most ${max} (${unit})`);
  return z.object({ raise: level, clear: level }).refine((t) => (direction === "above" ? t.clear < t.raise : t.clear > t.raise), {
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
   * The console is reached through a reverse proxy that sets X-Forwarded-Host and X-Forwarded-Proto
   * and appends the client's address to X-Forwarded-For (dropping what a client sent): they then
   * describe the browser's view of this site, and the last X-Forwarded-For entry is the caller's
   * address (audit log, sign-in limits). Off, the socket's address and Host are used and the
   * forwarded headers are ignored, since any client can send them.
   */
  trust_proxy: flag.default(false),
  /**
   * Host names (optionally with :port) this console answers to; empty answers any. A request for
   * another Host is refused with 421, which stops a DNS-rebinding page from reading the console.
   * The environment gives a comma-separated list.
   */
  allowed_hosts: z
    .preprocess(
      (value) =>
        typeof value === "string"
          ? value
              .split(",")
              .map((host) => host.trim())
              .filter(Boolean)
          : value,
      z
        .array(
          z
            .string()
            .trim()
            .toLowerCase()
            .regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/, "a host name, optionally with :port (e.g. 'mimir.example.com' or '10.0.0.5:8080')"),
        )
        .max(64),
    )
    .default([]),
  /** The address people open the console at ("https://backup.example.com"): links in notifications point there. */
  public_url: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]).default(""),
});

export const schedulerSchema = z.object({
  /**
   * The shortest time allowed between two fires of one job: a faster cron expression is refused
   * (422 cron_too_frequent), and the scheduler never fires a job sooner than this after its last fire.
   */
  min_interval_seconds: positiveInt.default(60),
  /** POST /api/v1/pipelines/execute runs at most this many pipelines at once in this process; more get 429. */
  max_concurrent_adhoc_runs: positiveInt.default(4),
  /**
   * Several instances on one PostgreSQL: an instance that has not renewed its lease for this long is
   * dead to the others, which fail its runs and operations (within two leases of its last heartbeat).
   */
  instance_lease_seconds: positiveInt.default(30),
});

/**
 * A list from YAML (a sequence) or from the environment (one string, entries separated by commas
 * or whitespace).
 */
const stringList = z.preprocess((value) => (typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : value), z.array(z.string().trim().min(1)));

export const networkSchema = z.object({
  /**
   * Destinations the console may call although they sit in a denied range (loopback, private,
   * link-local, …): host names, IP addresses or CIDR ranges, each optionally with `:port`
   * (`hooks.internal`, `10.0.0.5:8080`, `192.168.1.0/24`, `[::1]:9000`). See lib/net/outbound.ts.
   */
  allowed_destinations: stringList
    .superRefine((entries, ctx) => {
      for (const entry of entries) {
        try {
          parseAllowEntry(entry);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      }
    })
    .default([]),
});

/** How the notifier delivers: retries back off from `retry_base_seconds` (doubling) up to `max_attempts`. */
export const notificationsSchema = z.object({
  /** the first retry waits this long, each further one twice the one before; fractions allowed for tests */
  retry_base_seconds: z.coerce.number().positive().default(30),
  max_attempts: positiveInt.max(20).default(5),
  /** a receiver (HTTP or SMTP) that has not answered by then counts as a failed attempt */
  timeout_seconds: z.coerce.number().positive().max(300).default(10),
  /** a problem that stays raised is announced again at most this often, unless a channel says otherwise */
  reminder_hours: z.coerce.number().positive().default(24),
});

export const configFileSchema = z.object({
  persistence: persistenceSchema.default(persistenceSchema.parse({})),
  backups: backupsSchema.default(backupsSchema.parse({})),
  storage: storageSchema.default(storageSchema.parse({})),
  logging: loggingSchema.default(loggingSchema.parse({})),
  server: serverSchema.default(serverSchema.parse({})),
  audit: auditSchema.default(auditSchema.parse({})),
  scheduler: schedulerSchema.default(schedulerSchema.parse({})),
  network: networkSchema.default(networkSchema.parse({})),
  notifications: notificationsSchema.default(notificationsSchema.parse({})),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/** Keys whose values are secrets (a connection string's password, a webhook URL's embedded token): never logged, never returned, masked on the Settings page. */
export const SECRET_KEYS = new Set(["persistence.connection_string", "storage.alert_webhook_url"]);
