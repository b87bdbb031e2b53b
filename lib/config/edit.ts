import "server-only";
import fs from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { writeFileAtomic } from "@/lib/files";
import { setLogLevel } from "@/lib/log/logger";
import { ConfigError, describeEffectiveConfig, type AppConfig } from "@/lib/config/load";
import { auditSchema, backupsSchema, configFileSchema, loggingSchema, persistenceSchema, SECRET_KEYS, serverSchema, storageSchema } from "@/lib/config/schema";
import { getConfig, notifyConfigChange, reloadConfig, restoreConfig } from "@/lib/config/service";
import { createSerialQueue } from "@/lib/serial-queue";
import { plainIssueMessage } from "@/lib/issue-text";

/** How a changed value takes effect: read at each use, or only when the server starts. */
export type ApplyMode = "live" | "restart";

export interface EditableSetting {
  key: string;
  label: string;
  unit?: string;
  /** "flag": an on/off value, which the form offers as a choice rather than free text */
  kind?: "flag";
  apply: ApplyMode;
  /** why a restart is needed, or what reads the value */
  note: string;
}

/**
 * The runtime overrides the Settings page and PUT /api/v1/config may change. Paths, backend and
 * port are left to the file and the environment: changing them under a running server would move
 * its data away from it.
 */
export const EDITABLE_SETTINGS: readonly EditableSetting[] = [
  { key: "persistence.retention_days", label: "Execution history retention", unit: "days", apply: "live", note: "read by each retention cleanup" },
  {
    key: "persistence.backup_enabled",
    label: "Scheduled backups",
    kind: "flag",
    apply: "live",
    note: "the built-in backup, prune and verify jobs are switched with it, and /health checks backup freshness while it is on",
  },
  { key: "backups.schedule", label: "Backup schedule (cron)", apply: "live", note: "the built-in backup job takes it at once" },
  { key: "backups.keep_days", label: "Keep backups for", unit: "days", apply: "live", note: "read by each prune" },
  { key: "backups.keep_min", label: "Always keep at least", unit: "backups", apply: "live", note: "read by each prune" },
  { key: "storage.alert_threshold_gb", label: "Alert when data exceeds", unit: "GB", apply: "live", note: "read by each storage sample" },
  { key: "storage.alert_webhook_url", label: "Alert webhook URL", apply: "live", note: "read by each alert" },
  {
    key: "storage.sample_interval_minutes",
    label: "Storage sampling interval",
    unit: "minutes",
    apply: "restart",
    note: "the sampler's timer is set when the server starts",
  },
  { key: "server.public_url", label: "Console address (links in notifications)", apply: "live", note: "read by each notification" },
  { key: "logging.level", label: "Log level", apply: "live", note: "the logger is reconfigured at once" },
  { key: "audit.retention_days", label: "Keep audit log for", unit: "days", apply: "live", note: "read by each audit pruning" },
];

const SETTING_BY_KEY = new Map(EDITABLE_SETTINGS.map((setting) => [setting.key, setting]));

/**
 * Input of PUT /api/v1/config and the Settings form: a partial config.yaml holding only editable
 * keys. Each value is checked by the very schema boot uses (its default removed, so an absent key
 * stays absent rather than being written out as its default).
 */
export const updateConfigInput = z
  .object({
    persistence: z
      .object({
        retention_days: persistenceSchema.shape.retention_days.unwrap(),
        backup_enabled: persistenceSchema.shape.backup_enabled.unwrap(),
      })
      .partial()
      .strict(),
    backups: z
      .object({
        schedule: backupsSchema.shape.schedule.unwrap(),
        keep_days: backupsSchema.shape.keep_days.unwrap(),
        keep_min: backupsSchema.shape.keep_min.unwrap(),
      })
      .partial()
      .strict(),
    storage: z
      .object({
        alert_threshold_gb: storageSchema.shape.alert_threshold_gb.unwrap(),
        alert_webhook_url: storageSchema.shape.alert_webhook_url.unwrap(),
        sample_interval_minutes: storageSchema.shape.sample_interval_minutes.unwrap(),
      })
      .partial()
      .strict(),
    server: z.object({ public_url: serverSchema.shape.public_url.unwrap() }).partial().strict(),
    logging: z.object({ level: loggingSchema.shape.level.unwrap() }).partial().strict(),
    audit: z.object({ retention_days: auditSchema.shape.retention_days.unwrap() }).partial().strict(),
  })
  .partial()
  .strict();
export type UpdateConfigInput = z.infer<typeof updateConfigInput>;

export interface ConfigView {
  config_file: string;
  config_file_exists: boolean;
  /** every effective value by dotted key; secrets are "********" when set, "" when not */
  values: Record<string, unknown>;
  sources: Record<string, string>;
  editable: (EditableSetting & { overridden_by: string | null; secret: boolean })[];
}

const MASK = "********";

/** The effective configuration for scripts and the edit form, secrets masked. Reads only. */
export function getConfigView(config: AppConfig = getConfig()): ConfigView {
  const described = describeEffectiveConfig(config);
  return {
    config_file: config.configFile,
    config_file_exists: config.configFileExists,
    values: Object.fromEntries(described.map((s) => [s.key, s.secret ? (s.value ? MASK : "") : s.value])),
    sources: Object.fromEntries(
      described.map((s) => [s.key, s.source.kind === "env" ? `env:${s.source.variable}` : s.source.kind === "file" ? `file:${s.source.file}` : "default"]),
    ),
    editable: EDITABLE_SETTINGS.map((setting) => {
      const source = config.sources[setting.key];
      return { ...setting, secret: SECRET_KEYS.has(setting.key), overridden_by: source?.kind === "env" ? source.variable : null };
    }),
  };
}

export interface ConfigChange {
  key: string;
  apply: ApplyMode;
  note: string;
}

export interface ConfigUpdateResult {
  changed: ConfigChange[];
  /** true when at least one change waits for a restart */
  restart_required: boolean;
  config: ConfigView;
}

/** Edits and reloads of config.yaml, one at a time: each reads the file, changes it and applies the result. */
const inTurn = createSerialQueue();

/**
 * Writes the given keys into config.yaml, keeping its comments, order and every key this console
 * does not read (Mimir's own trees), then reloads and applies what can be applied live. Refuses a key
 * set by an environment variable (409: the environment would win). Validates the whole resulting
 * file with boot's schema before writing; writes atomically (temp file, fsync, rename).
 */
export async function updateConfig(input: UpdateConfigInput): Promise<ConfigUpdateResult> {
  return inTurn(() => applyUpdate(updateConfigInput.parse(input)));
}

/**
 * Throws 409 env_override when an environment variable sets `key`: a value written to config.yaml
 * would not take effect. For callers that must refuse before doing work of their own. Reads only.
 */
export function assertNotSetByEnvironment(key: string, config: AppConfig = getConfig()): void {
  const source = config.sources[key];
  if (source?.kind === "env") {
    throw new AppError(
      "env_override",
      `${key} is set by the environment variable ${source.variable}, which takes precedence over config.yaml; change it there`,
      {
        details: { key, variable: source.variable },
      },
    );
  }
}

/** Where the data lives, as the migration commands write it once a copy is verified. */
export type PersistenceTarget = { backend: "postgres"; connection_string: string } | { backend: "sqlite"; database_path: string };

/**
 * Points persistence at the database a verified migration filled: backend plus its connection
 * string (a secret: masked like every SECRET_KEYS value, never logged) or database path, written to
 * config.yaml only. Not an editable setting, since changing it alone would move the console away
 * from its data. The running process keeps the configuration and database it started with (what
 * /health and the Settings page describe stays true); the next start reads the file. Refuses keys
 * set by the environment (409).
 */
export async function switchPersistenceBackend(target: PersistenceTarget): Promise<void> {
  const entries: [string, unknown][] =
    target.backend === "postgres"
      ? [
          ["persistence.backend", "postgres"],
          ["persistence.connection_string", target.connection_string],
        ]
      : [
          ["persistence.backend", "sqlite"],
          ["persistence.database_path", target.database_path],
          // The way back leaves no password behind in config.yaml.
          ["persistence.connection_string", ""],
        ];
  await inTurn(() => writeEntries(entries));
}

async function applyUpdate(input: UpdateConfigInput): Promise<ConfigUpdateResult> {
  return applyEntries(flattenInput(input));
}

async function applyEntries(entries: [string, unknown][]): Promise<ConfigUpdateResult> {
  const { before, previousText } = await writeEntries(entries);
  let after: AppConfig;
  try {
    after = reloadConfig();
  } catch (error) {
    if (previousText === null) fs.rmSync(before.configFile, { force: true });
    else await writeFileAtomic(before.configFile, previousText);
    restoreConfig(before);
    throw configErrorToAppError(error);
  }
  const changed = (await applyLive(before, after)).filter((change) => entries.some(([key]) => key === change.key));
  return { changed, restart_required: changed.some((c) => c.apply === "restart"), config: getConfigView(after) };
}

/** Sets the keys in config.yaml (comments, order and unknown keys kept), checked by boot's schema, written atomically. */
async function writeEntries(entries: [string, unknown][]): Promise<{ before: AppConfig; previousText: string | null }> {
  const before = getConfig();
  for (const [key] of entries) assertNotSetByEnvironment(key, before);
  const previousText = readText(before.configFile);
  const doc = parseDocument(previousText ?? "");
  if (doc.errors.length > 0) {
    throw new AppError("config_invalid", `${before.configFile} has YAML errors; fix the file by hand first: ${doc.errors[0]!.message.split("\n")[0]}`);
  }
  for (const [key, value] of entries) doc.setIn(key.split("."), value);
  const check = configFileSchema.safeParse(doc.toJS() ?? {});
  if (!check.success) {
    throw new AppError("config_invalid", "The file would not be valid", {
      details: check.error.issues.map((issue) => ({ path: issue.path.join("."), message: plainIssueMessage(issue) })),
    });
  }
  await writeFileAtomic(before.configFile, doc.toString());
  return { before, previousText };
}

/**
 * POST /api/v1/config/reload: re-reads config.yaml and the environment. A file that does not
 * validate is refused (422, every problem listed) and the running configuration stays.
 */
export async function reloadConfigFromDisk(): Promise<ConfigUpdateResult> {
  return inTurn(async () => {
    const before = getConfig();
    let after: AppConfig;
    try {
      after = reloadConfig();
    } catch (error) {
      throw configErrorToAppError(error);
    }
    const changed = await applyLive(before, after);
    return { changed, restart_required: changed.some((c) => c.apply === "restart"), config: getConfigView(after) };
  });
}

/**
 * Lists every value that differs and applies the live ones that need more than a re-read (the log
 * level here; the rest through the change listeners, which it waits for).
 */
async function applyLive(before: AppConfig, after: AppConfig): Promise<ConfigChange[]> {
  const oldValues = Object.fromEntries(describeEffectiveConfig(before).map((s) => [s.key, JSON.stringify(s.value)]));
  const changes: ConfigChange[] = [];
  for (const setting of describeEffectiveConfig(after)) {
    if (oldValues[setting.key] === JSON.stringify(setting.value) && !SECRET_KEYS.has(setting.key)) continue;
    if (SECRET_KEYS.has(setting.key) && rawValue(before, setting.key) === rawValue(after, setting.key)) continue;
    const editable = SETTING_BY_KEY.get(setting.key);
    changes.push({ key: setting.key, apply: editable?.apply ?? "restart", note: editable?.note ?? "read when the server starts" });
  }
  if (before.values.logging.level !== after.values.logging.level) setLogLevel(after.values.logging.level);
  await notifyConfigChange(after, before);
  return changes;
}

function rawValue(config: AppConfig, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config.values);
}

function flattenInput(input: UpdateConfigInput): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [tree, values] of Object.entries(input)) {
    for (const [key, value] of Object.entries(values ?? {})) if (value !== undefined) out.push([`${tree}.${key}`, value]);
  }
  return out;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function configErrorToAppError(error: unknown): unknown {
  if (error instanceof ConfigError) {
    return new AppError("config_invalid", "The configuration is not valid; the running configuration is unchanged", { details: error.problems, cause: error });
  }
  return error;
}
