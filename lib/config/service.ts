import "server-only";
import { loadConfig, type AppConfig } from "@/lib/config/load";

const memo = globalThis as typeof globalThis & { __mimirConfig?: AppConfig };

/** The process-wide configuration, loaded once (boot validates it first, so this does not throw after boot). */
export function getConfig(): AppConfig {
  memo.__mimirConfig ??= loadConfig();
  return memo.__mimirConfig;
}

/** Installs an already loaded configuration (tests and the CLI load theirs from their own environment). */
export function setConfig(config: AppConfig): void {
  memo.__mimirConfig = config;
}

/** Re-reads config.yaml and the environment; on a validation error the previous configuration stays. */
export function reloadConfig(): AppConfig {
  const next = loadConfig();
  memo.__mimirConfig = next;
  return next;
}
