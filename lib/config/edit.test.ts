import fs from "node:fs";
import { afterEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getConfigView, reloadConfigFromDisk, updateConfig } from "@/lib/config/edit";
import { getConfig } from "@/lib/config/service";
import { toAppError } from "@/lib/to-app-error";

let root: TestDataRoot;
afterEach(() => root.cleanup());

const MIMIR_FILE = `# Mimir AIP settings, edited by hand
persistence:
  enabled: true
  retention_days: 30 # keep a month
mimir:
  plugins_dir: /app/plugins
`;

test("writes only the given keys, keeps comments and foreign keys, applies live values at once, and says which wait for a restart", async () => {
  root = createTestDataRoot();
  fs.writeFileSync(root.config.configFile, MIMIR_FILE);
  const result = await updateConfig({ persistence: { retention_days: 10 }, backups: { schedule: "30 1 * * *" }, storage: { sample_interval_minutes: 20 } });
  const text = fs.readFileSync(root.config.configFile, "utf8");
  expect(text).toContain("# Mimir AIP settings, edited by hand");
  expect(text).toContain("plugins_dir: /app/plugins");
  expect(text).toContain("retention_days: 10");
  expect(text).toContain("schedule: 30 1 * * *");
  expect(text).not.toContain("keep_days");
  expect(fs.statSync(root.config.configFile).mode & 0o777).toBe(0o600);
  expect(getConfig().values.persistence.retention_days).toBe(10);
  expect(result.changed).toEqual([
    expect.objectContaining({ key: "persistence.retention_days", apply: "live" }),
    expect.objectContaining({ key: "backups.schedule", apply: "live" }),
    expect.objectContaining({ key: "storage.sample_interval_minutes", apply: "restart" }),
  ]);
  expect(result.restart_required).toBe(true);
  expect(fs.readdirSync(root.config.paths.config)).toEqual(["config.yaml"]);
});

test("refuses a bad value with the schema's message and leaves the file as it was", async () => {
  root = createTestDataRoot();
  fs.writeFileSync(root.config.configFile, MIMIR_FILE);
  await expect(updateConfig({ backups: { schedule: "every day" } } as never)).rejects.toMatchObject({ name: "ZodError" });
  await expect(updateConfig({ persistence: { database_path: "/etc/passwd" } } as never)).rejects.toMatchObject({ name: "ZodError" });
  expect(fs.readFileSync(root.config.configFile, "utf8")).toBe(MIMIR_FILE);
});

test("refuses a key the environment sets, since the environment would win", async () => {
  root = createTestDataRoot({ MIMIR_RETENTION_DAYS: "45" });
  await expect(updateConfig({ persistence: { retention_days: 5 } })).rejects.toMatchObject({ code: "env_override", status: 409 });
  expect(fs.existsSync(root.config.configFile)).toBe(false);
});

test("secrets are masked in the view", async () => {
  root = createTestDataRoot();
  await updateConfig({ storage: { alert_webhook_url: "https://hooks.example.com/T0KEN" } });
  const view = JSON.stringify(getConfigView());
  expect(view).not.toContain("T0KEN");
  expect(getConfigView().values["storage.alert_webhook_url"]).toBe("********");
});

test("reload refuses a broken file with every problem and keeps the running configuration", async () => {
  root = createTestDataRoot();
  fs.writeFileSync(root.config.configFile, "persistence:\n  retention_days: -3\nbackups:\n  keep_min: zero\n");
  await expect(reloadConfigFromDisk()).rejects.toMatchObject({ code: "config_invalid", status: 422 });
  expect(getConfig().values.persistence.retention_days).toBe(30);
  fs.writeFileSync(root.config.configFile, "persistence:\n  retention_days: 7\n");
  const result = await reloadConfigFromDisk();
  expect(result.changed.map((c) => c.key)).toEqual(["persistence.retention_days"]);
  expect(getConfig().values.persistence.retention_days).toBe(7);
});

test("neither reload nor a Settings edit echoes a bad secret value", async () => {
  root = createTestDataRoot();
  fs.writeFileSync(root.config.configFile, "storage:\n  alert_webhook_url: hooks.example/services/T000/TOPSECRETWEBHOOK\n");
  const refusal = await reloadConfigFromDisk().then(
    () => null,
    (error: unknown) => error as Error & { details?: unknown },
  );
  expect(refusal).toMatchObject({ code: "config_invalid", status: 422, details: [expect.objectContaining({ key: "storage.alert_webhook_url" })] });
  expect(`${refusal!.message} ${JSON.stringify(refusal!.details)}`).not.toContain("TOPSECRETWEBHOOK");
  const edit = await updateConfig({ storage: { alert_webhook_url: "not a url TOPSECRETWEBHOOK" } } as never).then(
    () => null,
    (error: unknown) => toAppError(error),
  );
  expect(edit?.status).toBe(400);
  expect(`${edit!.message} ${JSON.stringify(edit!.details)}`).not.toContain("TOPSECRETWEBHOOK");
});

test("an on/off setting takes the form's 'true' and 'false' and is written as a YAML boolean", async () => {
  root = createTestDataRoot();
  expect(getConfigView().editable.find((setting) => setting.key === "persistence.backup_enabled")).toMatchObject({
    kind: "flag",
    apply: "live",
    overridden_by: null,
  });
  const result = await updateConfig({ persistence: { backup_enabled: "true" } } as never);
  expect(result.changed).toEqual([expect.objectContaining({ key: "persistence.backup_enabled", apply: "live" })]);
  expect(fs.readFileSync(root.config.configFile, "utf8")).toBe("persistence:\n  backup_enabled: true\n");
  expect(getConfig().values.persistence.backup_enabled).toBe(true);
  await updateConfig({ persistence: { backup_enabled: "false" } } as never);
  expect(getConfig().values.persistence.backup_enabled).toBe(false);
  await expect(updateConfig({ persistence: { backup_enabled: "maybe" } } as never)).rejects.toMatchObject({ name: "ZodError" });
});
