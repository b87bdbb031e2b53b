import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, describeEffectiveConfig, loadConfig } from "@/lib/config/load";

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-config-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

function writeConfig(text: string) {
  fs.mkdirSync(path.join(home, "config"), { recursive: true });
  fs.writeFileSync(path.join(home, "config", "config.yaml"), text);
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("works with no file at all: Mimir's defaults, paths under MIMIR_HOME", () => {
    const config = loadConfig({ MIMIR_HOME: home }, "/elsewhere");
    expect(config.configFileExists).toBe(false);
    expect(config.values.persistence).toMatchObject({ backend: "sqlite", retention_days: 30, backup_enabled: false });
    expect(config.paths.database).toBe(path.join(home, "data", "mimir.db"));
    expect(config.paths.vectorDb).toBe(path.join(home, "data", "chromem.db"));
    expect(config.paths.backups).toBe(path.join(home, "backups"));
    expect(config.sources["persistence.retention_days"]).toEqual({ kind: "default" });
  });

  it("defaults MIMIR_HOME to ./mimir-home of the working folder", () => {
    expect(loadConfig({}, home).paths.home).toBe(path.join(home, "mimir-home"));
  });

  it("reads Mimir's config.yaml keys, resolving relative paths against MIMIR_HOME", () => {
    writeConfig("persistence:\n  database_path: ./db/main.db\n  retention_days: 7\n  backup_enabled: true\nserver_name: mimir-1\n");
    const config = loadConfig({ MIMIR_HOME: home }, "/elsewhere");
    expect(config.paths.database).toBe(path.join(home, "db", "main.db"));
    expect(config.values.persistence.retention_days).toBe(7);
    expect(config.values.persistence.backup_enabled).toBe(true);
    expect(config.sources["persistence.retention_days"]).toEqual({ kind: "file", file: expect.stringContaining("config.yaml") });
    expect(config.unknownKeys).toEqual(["server_name"]);
  });

  it("lets the environment override the file and says so", () => {
    writeConfig("persistence:\n  retention_days: 7\n");
    const config = loadConfig({ MIMIR_HOME: home, MIMIR_RETENTION_DAYS: "45", MIMIR_BACKUP_ENABLED: "yes" }, home);
    expect(config.values.persistence.retention_days).toBe(45);
    expect(config.values.persistence.backup_enabled).toBe(true);
    expect(config.sources["persistence.retention_days"]).toEqual({ kind: "env", variable: "MIMIR_RETENTION_DAYS" });
  });

  it("moves the database with MIMIR_DATA_DIR unless its path is set explicitly", () => {
    const data = path.join(home, "elsewhere-data");
    expect(loadConfig({ MIMIR_HOME: home, MIMIR_DATA_DIR: data }, home).paths.database).toBe(path.join(data, "mimir.db"));
    const explicit = loadConfig({ MIMIR_HOME: home, MIMIR_DATA_DIR: data, MIMIR_DATABASE_PATH: "/srv/mimir.db" }, home);
    expect(explicit.paths.database).toBe("/srv/mimir.db");
    expect(explicit.sources["paths.database"]).toEqual({ kind: "env", variable: "MIMIR_DATABASE_PATH" });
  });

  it.each([
    ["persistence:\n  retention_days: soon\n", "persistence.retention_days", '"soon"'],
    ["persistence:\n  backend: mysql\n", "persistence.backend", '"mysql"'],
    ["backups:\n  schedule: every night\n", "backups.schedule", "cron"],
    ["persistence:\n  backup_enabled: maybe\n", "persistence.backup_enabled", '"maybe"'],
  ])("stops on a bad value in the file, naming the file, the key and what was expected (%#)", (text, key, hint) => {
    writeConfig(text);
    const error = configError(() => loadConfig({ MIMIR_HOME: home }, home));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ key, source: expect.stringContaining("config.yaml") });
    expect(error.message).toContain(key);
    expect(error.message).toContain(hint);
  });

  it("names the environment variable when it holds the bad value", () => {
    const error = configError(() => loadConfig({ MIMIR_HOME: home, MIMIR_RETENTION_DAYS: "-3" }, home));
    expect(error.problems[0]).toMatchObject({ key: "persistence.retention_days", source: "environment MIMIR_RETENTION_DAYS" });
  });

  it.each([
    ["the environment", { MIMIR_ALERT_WEBHOOK_URL: "hooks.example/services/T000/TOPSECRETWEBHOOK" }, ""],
    ["config.yaml", {}, "storage:\n  alert_webhook_url: hooks.example/services/T000/TOPSECRETWEBHOOK\n"],
    ["a connection string in config.yaml", {}, "persistence:\n  connection_string: 42\nstorage:\n  alert_webhook_url: TOPSECRETWEBHOOK\n"],
  ])("never echoes a bad secret value from %s, only names the key", (_label, env, text) => {
    if (text) writeConfig(text);
    const error = configError(() => loadConfig({ MIMIR_HOME: home, ...env }, home));
    expect(error.message).toContain("storage.alert_webhook_url");
    expect(error.message).toContain("is a secret");
    expect(error.message).not.toContain("TOPSECRETWEBHOOK");
    expect(JSON.stringify(error.problems)).not.toContain("TOPSECRETWEBHOOK");
  });

  it("reports a YAML syntax error with its line and column", () => {
    writeConfig("persistence:\n  retention_days: 7\n   backend: [sqlite\n");
    const error = configError(() => loadConfig({ MIMIR_HOME: home }, home));
    expect(error.message).toMatch(/config\.yaml: YAML error at line \d+, column \d+/);
  });

  it("keeps secrets out of the effective config it describes", () => {
    writeConfig('persistence:\n  connection_string: "postgres://mimir:hunter2@db/mimir"\n');
    const config = loadConfig({ MIMIR_HOME: home, MIMIR_BACKUP_PASSPHRASE: "correct horse" }, home);
    expect(config.secrets.backupPassphrase).toBe("correct horse");
    const described = JSON.stringify(describeEffectiveConfig(config));
    expect(described).not.toContain("hunter2");
    expect(described).not.toContain("correct horse");
  });

  it("reads the backup passphrase from the file named in config, and refuses a missing one", () => {
    fs.writeFileSync(path.join(home, "passphrase"), "from a file\n");
    writeConfig("backups:\n  passphrase_file: ./passphrase\n");
    expect(loadConfig({ MIMIR_HOME: home }, home).secrets.backupPassphrase).toBe("from a file");
    writeConfig("backups:\n  passphrase_file: ./missing\n");
    expect(configError(() => loadConfig({ MIMIR_HOME: home }, home)).message).toContain("backups.passphrase_file");
  });
});
