import "server-only";
import { processState } from "@/lib/process-state";
import { loadConfig, type AppConfig } from "@/lib/config/load";
import { getLogger } from "@/lib/log/logger";

const memo = processState("config", (): { config?: AppConfig; configOrigin?: ConfigOrigin } => ({}));

/** The process-wide configuration, loaded once (boot validates it first, so this does not throw after boot). */
export function getConfig(): AppConfig {
  memo.config ??= loadConfig();
  return memo.config;
}

/** Where a configuration was loaded from, so a reload reads the same environment again. */
export interface ConfigOrigin {
  env: Record<string, string | undefined>;
  cwd: string;
}

/**
 * Installs an already loaded configuration (tests and the CLI load theirs from their own
 * environment); `origin` is what reloadConfig() reads again.
 */
export function setConfig(config: AppConfig, origin?: ConfigOrigin): void {
  memo.config = config;
  memo.configOrigin = origin;
}

/** Re-reads config.yaml and the environment; on a validation error it throws and the previous configuration stays. */
export function reloadConfig(): AppConfig {
  const origin = memo.configOrigin;
  const next = origin ? loadConfig(origin.env, origin.cwd) : loadConfig();
  memo.config = next;
  return next;
}

/** Puts back a configuration that was replaced (a write that failed after reloading). */
export function restoreConfig(config: AppConfig): void {
  memo.config = config;
}

type ConfigListener = (next: AppConfig, previous: AppConfig) => void | Promise<void>;
// Process-wide: listeners subscribe from the instrumentation bundle (scheduler, sampler) while the
// Settings action and /api/v1/config notify from route bundles, which may hold their own module copy.
const listeners = processState("configListeners", () => new Set<ConfigListener>());

/**
 * Lets a capability apply a changed value at once (the scheduler rescheduling a built-in job, the
 * sampler restarting its timer, the backup jobs following persistence.backup_enabled). Called after
 * the Settings page or /api/v1/config changed the file, or after /api/v1/config/reload. A listener
 * may return a promise: the change is answered only once it settled. It runs inside the config write
 * queue, so it must not write the config itself. Returns the function that unsubscribes.
 */
export function onConfigChange(listener: ConfigListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Runs every listener in turn; one that throws or rejects is logged and does not keep the others from running. */
export async function notifyConfigChange(next: AppConfig, previous: AppConfig): Promise<void> {
  for (const listener of listeners) {
    try {
      await listener(next, previous);
    } catch (error) {
      getLogger().error("a configuration change listener failed", { error });
    }
  }
}
