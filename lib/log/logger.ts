import "server-only";
import { processState } from "@/lib/process-state";
import path from "node:path";
import { createStream, type RotatingFileStream } from "rotating-file-stream";
import winston from "winston";
import type { AppConfig } from "@/lib/config/load";

/** The application log's file name inside the logs volume. */
export const APP_LOG_FILE = "mimir.log";

const SECRET_FIELD = /pass(word|phrase)?|token|secret|authorization|cookie|connection_string|api_key/i;
const MASK = "[redacted]";

/** Masks any field whose name says it holds a secret, at any depth, before a line is written. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = SECRET_FIELD.test(key) && child !== null && child !== undefined && child !== "" ? MASK : redact(child, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === "level" || key === "message") continue;
    info[key] = SECRET_FIELD.test(key) ? MASK : redact(info[key]);
  }
  return info;
});

const memo = processState("logger", (): { logger?: winston.Logger; file?: RotatingFileStream } => ({}));

/**
 * mimir.log is the file being written; mimir1.log the newest rotated one, mimir2.log the one before…
 * In logrotate mode the library passes the rotation's index as the first argument (null for the current file).
 */
function rotatedName(index: number | Date | null): string {
  const ext = path.extname(APP_LOG_FILE);
  return typeof index === "number" && index > 0 ? `${path.basename(APP_LOG_FILE, ext)}${index}${ext}` : APP_LOG_FILE;
}

/**
 * JSON lines to logs/mimir.log, rotated by size with a bounded number of kept files, and to stdout for
 * `docker logs`. The rotation is rotating-file-stream's (classical logrotate: mimir.log → mimir1.log → …),
 * written to through winston's Stream transport: winston's own File transport lost lines written while
 * it rotated (289 of 400 paced lines, 2026-12-04) and stalled for good on an unpaced burst.
 * rotating-file-stream queues writes during a rotation and writes them in order afterwards.
 */
export function configureLogging(config: AppConfig): winston.Logger {
  void closeLogging();
  const format = winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json());
  memo.file = createStream(rotatedName, {
    path: config.paths.logs,
    size: `${config.values.logging.max_file_bytes}B`,
    // max_files counts mimir.log too (as before); logrotate's count is of rotated files and at least 1.
    rotate: Math.max(1, config.values.logging.max_files - 1),
  });
  // A failing log file must not take the process down (an unhandled 'error' would); stdout still has the lines.
  memo.file.on("error", (error) => console.error("mimir.log can no longer be written", error));
  memo.logger = winston.createLogger({
    level: config.values.logging.level,
    format,
    transports: [new winston.transports.Stream({ stream: memo.file }), new winston.transports.Console()],
  });
  return memo.logger;
}

/** Ends the logger and the file; resolves once every line written before it is on disk (tests, reopen). */
export function closeLogging(): Promise<void> {
  const { logger, file } = memo;
  memo.logger = undefined;
  memo.file = undefined;
  // close() only detaches the transports (a reference kept elsewhere then logs nowhere, rather than
  // failing with a write after end). The logger hands each line to the file stream as it is logged, so
  // ending the file stream afterwards flushes all of them.
  logger?.close();
  if (!file) return Promise.resolve();
  return new Promise((resolve) => {
    file.once("finish", () => resolve());
    file.end();
  });
}

/** The process logger; before boot configures the file (CLI, tests), warnings and errors go to stdout only. */
export function getLogger(): winston.Logger {
  memo.logger ??= winston.createLogger({
    level: "warn",
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
  return memo.logger;
}

/**
 * A new level for the running logger, from the next line on. The file stays open: reopening it (as
 * configureLogging does) let the old stream's last lines and the new one's first race to the end of
 * mimir.log.
 */
export function setLogLevel(level: string): void {
  if (memo.logger) memo.logger.level = level;
}

/** After a restore swapped the logs folder: a logger writing to a file reopens it in the new folder. */
export function reopenLogFile(config: AppConfig): void {
  if (memo.file) configureLogging(config);
}
