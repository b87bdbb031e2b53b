import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config/load";
import { DataRootError, ensureDataRoot } from "@/lib/config/data-root";

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-root-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe("ensureDataRoot", () => {
  it("creates the five volumes and backups/ private to the service account", () => {
    const root = path.join(home, "fresh");
    ensureDataRoot(loadConfig({ MIMIR_HOME: root }, home));
    for (const name of ["data", "logs", "config", "plugins", "pipelines", "backups"]) {
      const stat = fs.statSync(path.join(root, name));
      expect(stat.isDirectory()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o700);
    }
    expect(fs.readdirSync(path.join(root, "data"))).toEqual([]);
  });

  it("removes the write probe a killed process left in a volume, never a live process's", () => {
    const root = path.join(home, "probed");
    const config = loadConfig({ MIMIR_HOME: root }, home);
    ensureDataRoot(config);
    // A process that has exited: its pid names no process now.
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    const left = path.join(root, "data", `.mimir-write-probe-${dead}`);
    const live = path.join(root, "data", `.mimir-write-probe-${process.ppid}`);
    fs.writeFileSync(left, "");
    fs.writeFileSync(live, "");
    ensureDataRoot(config);
    expect(fs.readdirSync(path.join(root, "data"))).toEqual([path.basename(live)]);
  });

  it("refuses a volume path that is a file, naming it and the fix", () => {
    const blocker = path.join(home, "logs-is-a-file");
    fs.writeFileSync(blocker, "");
    expect(() => ensureDataRoot(loadConfig({ MIMIR_HOME: home, MIMIR_LOGS_DIR: blocker }, home))).toThrow(
      new DataRootError(`${blocker} exists but is not a folder`),
    );
  });

  it("refuses a folder that cannot be created or written, naming it", () => {
    const parentFile = path.join(home, "plain-file");
    fs.writeFileSync(parentFile, "");
    const target = path.join(parentFile, "plugins");
    expect(() => ensureDataRoot(loadConfig({ MIMIR_HOME: home, MIMIR_PLUGINS_DIR: target }, home))).toThrow(
      /plain-file\/plugins cannot be written \(ENOTDIR\)/,
    );
  });
});
