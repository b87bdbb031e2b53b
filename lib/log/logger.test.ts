import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config/load";
import winston from "winston";
import { APP_LOG_FILE, closeLogging, configureLogging, redact, setLogLevel } from "@/lib/log/logger";

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-log-"));
  fs.mkdirSync(path.join(home, "logs"));
  fs.mkdirSync(path.join(home, "config"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** Every line of the kept files, oldest first: mimirN.log … mimir1.log, then mimir.log (logrotate order). */
function readLogLines(): { files: string[]; lines: string[] } {
  const order = (file: string) => (file === APP_LOG_FILE ? 0 : Number(/(\d+)\.log$/.exec(file)?.[1] ?? NaN));
  const files = fs.readdirSync(path.join(home, "logs")).sort((a, b) => order(b) - order(a));
  const lines = files.flatMap((file) =>
    fs
      .readFileSync(path.join(home, "logs", file), "utf8")
      .split("\n")
      .filter(Boolean),
  );
  return { files, lines };
}

function fileLogger(maxFileBytes: number, maxFiles: number) {
  fs.writeFileSync(path.join(home, "config", "config.yaml"), `logging:\n  max_file_bytes: ${maxFileBytes}\n  max_files: ${maxFiles}\n`);
  const logger = configureLogging(loadConfig({ MIMIR_HOME: home }, home));
  logger.transports.forEach((transport) => {
    if (transport instanceof winston.transports.Console) transport.silent = true;
  });
  return logger;
}

describe("application log", () => {
  afterEach(() => closeLogging());

  it("a new level applies from the next line, in the same file, every line in order", async () => {
    const logger = fileLogger(1024 * 1024, 3);
    for (let i = 0; i < 50; i++) logger.info("before", { i });
    logger.debug("hidden at info");
    setLogLevel("debug");
    for (let i = 0; i < 50; i++) logger.debug("after", { i });
    setLogLevel("warn");
    logger.info("hidden at warn");
    logger.warn("last");
    await closeLogging();
    const messages = readLogLines().lines.map((line) => JSON.parse(line) as { message: string; i?: number });
    expect(messages.map((m) => `${m.message}${m.i ?? ""}`)).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `before${i}`),
      ...Array.from({ length: 50 }, (_, i) => `after${i}`),
      "last",
    ]);
  });

  it("writes JSON lines to logs/mimir.log, rotates by size and keeps a bounded number of files", async () => {
    const logger = fileLogger(4096, 3);
    for (let i = 0; i < 400; i++) logger.info("line", { i, filler: "x".repeat(80) });
    // closeLogging resolves once every line is on disk: no polling, no reading a file mid-rotation.
    await closeLogging();
    const { files, lines } = readLogLines();
    expect(files).toEqual(["mimir2.log", "mimir1.log", APP_LOG_FILE]);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: "info", message: "line", timestamp: expect.any(String) });
    // The oldest lines went with the files past max_files; the kept ones are the newest, whole and in order.
    const kept = lines.map((line) => JSON.parse(line).i);
    expect(kept.length).toBeLessThan(400);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => 400 - kept.length + k));
  });

  // No line may be lost at rotation (winston's File transport lost most lines written while it rotated).
  // Many rotations (~27 lines a file), max_files large enough to keep every line; both a burst and paced writes.
  it.each([
    ["a burst", false],
    ["paced writes", true],
  ])("keeps every line across many rotations: %s", async (_, paced) => {
    const count = 3000;
    const logger = fileLogger(4096, 200);
    for (let i = 0; i < count; i++) {
      logger.info("line", { i, filler: "x".repeat(80) });
      if (paced && i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await closeLogging();
    const { files, lines } = readLogLines();
    expect(files.length).toBeGreaterThan(100);
    // Each line whole (parses), each index once, in order across the files.
    expect(lines.map((line) => JSON.parse(line).i)).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it("reconfiguring keeps the lines written so far and a logger kept from before logs nowhere without failing", async () => {
    const before = fileLogger(4096, 3);
    before.info("first");
    const after = configureLogging(loadConfig({ MIMIR_HOME: home }, home));
    expect(() => before.info("to the old logger")).not.toThrow();
    after.transports.forEach((transport) => {
      if (transport instanceof winston.transports.Console) transport.silent = true;
    });
    after.info("second");
    await closeLogging();
    // Both kept; not necessarily in this order: the old file stream may still be opening when the new one appends.
    expect(
      readLogLines()
        .lines.map((line) => JSON.parse(line).message)
        .sort(),
    ).toEqual(["first", "second"]);
  });

  it("masks fields that hold secrets at any depth", () => {
    expect(redact({ user: "admin", password: "hunter2", nested: { apiToken: "mimir_abc", list: [{ passphrase: "p" }] }, Authorization: "Bearer x" })).toEqual({
      user: "admin",
      password: "[redacted]",
      nested: { apiToken: "[redacted]", list: [{ passphrase: "[redacted]" }] },
      Authorization: "[redacted]",
    });
  });
});
