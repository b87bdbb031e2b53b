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

export const storageSchema = z.object({
  sample_interval_minutes: positiveInt.default(15),
  alert_webhook_url: z.union([z.literal(""), z.url()]).default(""),
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
});

export const configFileSchema = z.object({
  persistence: persistenceSchema.default(persistenceSchema.parse({})),
  backups: backupsSchema.default(backupsSchema.parse({})),
  storage: storageSchema.default(storageSchema.parse({})),
  logging: loggingSchema.default(loggingSchema.parse({})),
  server: serverSchema.default(serverSchema.parse({})),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/** Keys whose values are secrets: never logged, never returned, masked on the Settings page. */
export const SECRET_KEYS = new Set(["persistence.connection_string"]);
