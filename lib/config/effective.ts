import "server-only";
import { describeEffectiveConfig, type ConfigSource } from "@/lib/config/load";
import { getConfig } from "@/lib/config/service";

export interface EffectiveSetting {
  key: string;
  value: string;
  secret: boolean;
  source: ConfigSource;
}

export interface EffectiveConfig {
  configFile: string;
  configFileExists: boolean;
  settings: EffectiveSetting[];
  unknownKeys: string[];
  /** secrets are reported as set or not, never shown */
  secrets: { name: string; variable: string; set: boolean }[];
}

/** The effective configuration with where each value came from; secrets masked. Reads only. */
export function getEffectiveConfig(): EffectiveConfig {
  const config = getConfig();
  return {
    configFile: config.configFile,
    configFileExists: config.configFileExists,
    settings: describeEffectiveConfig(config).map((s) => ({ ...s, value: typeof s.value === "string" ? s.value : JSON.stringify(s.value) })),
    unknownKeys: config.unknownKeys,
    secrets: [
      { name: "Backup passphrase", variable: "MIMIR_BACKUP_PASSPHRASE or backups.passphrase_file", set: config.secrets.backupPassphrase !== null },
      { name: "Admin password for unattended setup", variable: "MIMIR_ADMIN_PASSWORD", set: config.secrets.adminPassword !== null },
      { name: "Automation API token", variable: "MIMIR_API_TOKEN", set: config.secrets.apiToken !== null },
      { name: "Key for stored secrets (else config/secret.key)", variable: "MIMIR_SECRET_KEY", set: config.secrets.secretKey !== null },
    ],
  };
}
