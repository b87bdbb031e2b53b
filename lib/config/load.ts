import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { configFileSchema, SECRET_KEYS, type ConfigFile } from "@/lib/config/schema";

export type ConfigSource = { kind: "default" } | { kind: "file"; file: string } | { kind: "env"; variable: string };

export interface ResolvedPaths {
  home: string;
  data: string;
  logs: string;
  config: string;
  plugins: string;
  pipelines: string;
  backups: string;
  database: string;
  vectorDb: string;
}

export interface AppConfig {
  values: ConfigFile;
  paths: ResolvedPaths;
  configFile: string;
  configFileExists: boolean;
  /** Where each effective value came from, keyed by dotted path ("persistence.retention_days", "paths.data"). */
  sources: Record<string, ConfigSource>;
  /** Keys present in the file that this product does not read (Mimir's own trees, or typos). */
  unknownKeys: string[];
  /** Secrets come from the environment or from files only; never from config.yaml, never echoed. */
  secrets: {
    backupPassphrase: string | null;
    adminPassword: string | null;
    apiToken: string | null;
    /** MIMIR_SECRET_KEY: encrypts stored secrets (notification channels); without it a key file in the config folder is used */
    secretKey: string | null;
  };
  /** Fault injection for the crash tests: the named point at which the process SIGKILLs itself. */
  crashPoint: string | null;
  /** Fault injection for the shutdown tests: the named point at which work waits until it is cancelled. */
  holdPoint: string | null;
  /**
   * Fault injection for the multi-instance test (MIMIR_TEST_CLOCK_SKEW_MS): this instance's scheduled
   * fires go off this many milliseconds late, as on a machine whose clock runs behind. 0 otherwise.
   */
  clockSkewMs: number;
}

export interface ConfigProblem {
  source: string;
  key: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super("Invalid configuration:\n" + problems.map((p) => `  ${p.source}: ${p.key ? `${p.key}: ` : ""}${p.message}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** Environment variables that override a key of config.yaml (the file's key is named, not copied). */
export const ENV_OVERRIDES: Readonly<Record<string, string>> = {
  MIMIR_PERSISTENCE_BACKEND: "persistence.backend",
  MIMIR_DATABASE_PATH: "persistence.database_path",
  MIMIR_CONNECTION_STRING: "persistence.connection_string",
  MIMIR_VECTOR_DB_PATH: "persistence.vector_db_path",
  MIMIR_ENABLE_VECTOR_DB: "persistence.enable_vector_db",
  MIMIR_BACKUP_ENABLED: "persistence.backup_enabled",
  MIMIR_BACKUP_DIR: "persistence.backup_path",
  MIMIR_RETENTION_DAYS: "persistence.retention_days",
  MIMIR_BACKUP_SCHEDULE: "backups.schedule",
  MIMIR_BACKUP_KEEP_DAYS: "backups.keep_days",
  MIMIR_BACKUP_KEEP_MIN: "backups.keep_min",
  MIMIR_BACKUP_PASSPHRASE_FILE: "backups.passphrase_file",
  MIMIR_SAMPLE_INTERVAL_MINUTES: "storage.sample_interval_minutes",
  MIMIR_ALERT_WEBHOOK_URL: "storage.alert_webhook_url",
  MIMIR_ALERT_THRESHOLD_GB: "storage.alert_threshold_gb",
  MIMIR_AUDIT_RETENTION_DAYS: "audit.retention_days",
  MIMIR_LOG_LEVEL: "logging.level",
  MIMIR_METRICS_PUBLIC: "server.metrics_public",
  MIMIR_SCHEDULER_MIN_INTERVAL_SECONDS: "scheduler.min_interval_seconds",
  MIMIR_MAX_CONCURRENT_ADHOC_RUNS: "scheduler.max_concurrent_adhoc_runs",
  MIMIR_INSTANCE_LEASE_SECONDS: "scheduler.instance_lease_seconds",
  MIMIR_ALLOWED_DESTINATIONS: "network.allowed_destinations",
  MIMIR_TRUST_PROXY: "server.trust_proxy",
  MIMIR_ALLOWED_HOSTS: "server.allowed_hosts",
  MIMIR_PUBLIC_URL: "server.public_url",
  MIMIR_NOTIFY_RETRY_BASE_SECONDS: "notifications.retry_base_seconds",
  MIMIR_NOTIFY_MAX_ATTEMPTS: "notifications.max_attempts",
  MIMIR_NOTIFY_TIMEOUT_SECONDS: "notifications.timeout_seconds",
};

/** Volume folders that are not keys of config.yaml, only environment overrides of MIMIR_HOME/<name>. */
const FOLDER_OVERRIDES = {
  data: "MIMIR_DATA_DIR",
  logs: "MIMIR_LOGS_DIR",
  config: "MIMIR_CONFIG_DIR",
  plugins: "MIMIR_PLUGINS_DIR",
  pipelines: "MIMIR_PIPELINES_DIR",
} as const;

export const CONFIG_FILE_NAME = "config.yaml";

type Env = Record<string, string | undefined>;

/** Reads config.yaml and the environment, validates both, and resolves every path. Pure: no writes. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const sources: Record<string, ConfigSource> = {};
  const setEnvSource = (key: string, variable: string) => (sources[key] = { kind: "env", variable });

  const home = path.resolve(/*turbopackIgnore: true*/ cwd, nonEmpty(env.MIMIR_HOME) ?? "mimir-home");
  sources["paths.home"] = env.MIMIR_HOME ? { kind: "env", variable: "MIMIR_HOME" } : { kind: "default" };

  const folders = {} as Record<keyof typeof FOLDER_OVERRIDES, string>;
  for (const [name, variable] of Object.entries(FOLDER_OVERRIDES) as [keyof typeof FOLDER_OVERRIDES, string][]) {
    const override = nonEmpty(env[variable]);
    folders[name] = override ? path.resolve(/*turbopackIgnore: true*/ cwd, override) : path.join(/*turbopackIgnore: true*/ home, name);
    if (override) setEnvSource(`paths.${name}`, variable);
    else sources[`paths.${name}`] = { kind: "default" };
  }

  const configFile = path.join(/*turbopackIgnore: true*/ folders.config, CONFIG_FILE_NAME);
  const { raw, exists } = readConfigFile(configFile);
  // Shown relative to the working folder when inside it ("mimir-home/config/config.yaml"), else in full.
  const relative = path.relative(cwd, configFile);
  const displayFile = relative && !relative.startsWith("..") ? relative : configFile;
  for (const key of leafKeys(raw)) sources[key] = { kind: "file", file: displayFile };

  const merged = structuredClone(raw) as Record<string, unknown>;
  for (const [variable, key] of Object.entries(ENV_OVERRIDES)) {
    const value = nonEmpty(env[variable]);
    if (value === undefined) continue;
    setPath(merged, key, value);
    setEnvSource(key, variable);
  }

  const parsed = configFileSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join(/*turbopackIgnore: true*/ ".");
        const source = sources[key];
        return {
          source: source?.kind === "env" ? `environment ${source.variable}` : displayFile,
          key,
          message: describeIssue(issue, key, getPath(merged, key)),
        };
      }),
    );
  }
  const values = parsed.data;
  for (const key of leafKeys(values)) sources[key] ??= { kind: "default" };

  // Mimir's relative paths are relative to its working folder, which is MIMIR_HOME here.
  const resolve = (key: string, value: string, defaultPath: string) =>
    sources[key]?.kind === "default" ? defaultPath : path.resolve(/*turbopackIgnore: true*/ home, value);
  const paths: ResolvedPaths = {
    home,
    ...folders,
    backups: resolve("persistence.backup_path", values.persistence.backup_path, path.join(/*turbopackIgnore: true*/ home, "backups")),
    database: resolve("persistence.database_path", values.persistence.database_path, path.join(/*turbopackIgnore: true*/ folders.data, "mimir.db")),
    vectorDb: resolve("persistence.vector_db_path", values.persistence.vector_db_path, path.join(/*turbopackIgnore: true*/ folders.data, "chromem.db")),
  };
  sources["paths.backups"] = sources["persistence.backup_path"] ?? { kind: "default" };
  sources["paths.database"] = sources["persistence.database_path"] ?? { kind: "default" };
  sources["paths.vectorDb"] = sources["persistence.vector_db_path"] ?? { kind: "default" };

  return {
    values,
    paths,
    configFile,
    configFileExists: exists,
    sources,
    unknownKeys: leafKeys(raw).filter((key) => !(key in flatten(values))),
    secrets: {
      backupPassphrase: readPassphrase(env, values.backups.passphrase_file, home),
      adminPassword: nonEmpty(env.MIMIR_ADMIN_PASSWORD) ?? null,
      apiToken: nonEmpty(env.MIMIR_API_TOKEN) ?? null,
      secretKey: nonEmpty(env.MIMIR_SECRET_KEY) ?? null,
    },
    crashPoint: nonEmpty(env.MIMIR_CRASH_POINT) ?? null,
    holdPoint: nonEmpty(env.MIMIR_HOLD_POINT) ?? null,
    clockSkewMs: Math.max(0, Number.parseInt(env.MIMIR_TEST_CLOCK_SKEW_MS ?? "", 10) || 0),
  };
}

/** Flattens the effective values for display, with secrets masked. */
export function describeEffectiveConfig(config: AppConfig) {
  const flat = { ...flatten(config.values), ...flatten({ paths: config.paths }) };
  return Object.entries(flat).map(([key, value]) => ({
    key,
    value: SECRET_KEYS.has(key) && value ? "••••••" : value,
    secret: SECRET_KEYS.has(key),
    source: config.sources[key] ?? { kind: "default" as const },
  }));
}

function readConfigFile(file: string): { raw: Record<string, unknown>; exists: boolean } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { raw: {}, exists: false };
    throw new ConfigError([{ source: file, key: "", message: `cannot be read (${(error as Error).message})` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        source: file,
        key: "",
        message: `YAML error at line ${e.linePos?.[0].line ?? "?"}, column ${e.linePos?.[0].col ?? "?"}: ${e.message.split("\n")[0]}`,
      })),
    );
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError([{ source: file, key: "", message: "expected a mapping of keys (e.g. 'persistence:') at the top level" }]);
  }
  return { raw: raw as Record<string, unknown>, exists: true };
}

function readPassphrase(env: Env, passphraseFile: string, home: string): string | null {
  const direct = nonEmpty(env.MIMIR_BACKUP_PASSPHRASE);
  if (direct) return direct;
  if (!passphraseFile) return null;
  const file = path.resolve(/*turbopackIgnore: true*/ home, passphraseFile);
  try {
    return fs.readFileSync(file, "utf8").trim() || null;
  } catch (error) {
    throw new ConfigError([{ source: "config", key: "backups.passphrase_file", message: `${file} cannot be read (${(error as NodeJS.ErrnoException).code})` }]);
  }
}

/**
 * The problem and the value that caused it, except a secret's value: the text goes to the start-up
 * error on stdout (a container log) and to the reload answer, and a mistyped webhook URL still
 * carries its token.
 */
function describeIssue(issue: { message: string; code: string }, key: string, received: unknown): string {
  if (SECRET_KEYS.has(key)) return `${issue.message} (the value is a secret and is not shown)`;
  const shown = received === undefined ? "nothing" : JSON.stringify(received);
  return `${issue.message} (got ${shown})`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function flatten(value: unknown, prefix = ""): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return prefix ? { [prefix]: value } : {};
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) Object.assign(out, flatten(child, prefix ? `${prefix}.${key}` : key));
  return out;
}

function leafKeys(value: unknown): string[] {
  return Object.keys(flatten(value));
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown) {
  const parts = dotted.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function getPath(target: Record<string, unknown>, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], target);
}
