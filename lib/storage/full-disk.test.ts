import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";

const isRoot = process.getuid?.() === 0;

/** A private mount namespace keeps the tmpfs from leaking into the machine (TESTING.md, full disk). */
test.skipIf(!isRoot)("on a full disk a sample measures every volume, drops its rows without crashing, and matches du -sb", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-full-"));
  try {
    const script = [`mount -t tmpfs -o size=4m tmpfs ${home}`, `node --conditions=react-server --import tsx test/helpers/full-disk-sample.ts ${home}`].join(
      " && ",
    );
    const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    // Log lines (the refused insert is logged) are JSON too; the result is the one with a sample.
    const result = JSON.parse(run.stdout.split("\n").find((line) => line.startsWith('{"full"'))!);
    expect(result.full).toBe(true);
    expect(result.free).toBe(0);
    expect(result.sample.stored).toBe(false);
    expect(result.volumes).toHaveLength(6);
    for (const volume of result.volumes as { volume: string; bytes: number; du: number }[]) {
      expect(Math.abs(volume.bytes - volume.du), volume.volume).toBeLessThanOrEqual(volume.du * 0.01);
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
