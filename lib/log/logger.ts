import "server-only";
import { processState } from "@/lib/process-state";
import path from "node:path";
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

const memo = processState("logger", (): { logger?: winston.Logger } => ({}));

/**
 * JSON lines to logs/mimir.log, rotated by size with a bounded number of kept files (winston's
 * File transport does both: maxsize and maxFiles), and to stdout for `docker logs`.
 */
export function configureLogging(config: AppConfig): winston.Logger {
  memo.logger?.close();
  const format = winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json());
  memo.logger = winston.createLogger({
    level: config.values.logging.level,
    format,
    transports: [
      new winston.transports.File({
        filename: path.join(/*turbopackIgnore: true*/ config.paths.logs, APP_LOG_FILE),
        maxsize: config.values.logging.max_file_bytes,
        maxFiles: config.values.logging.max_files,
        tailable: true,
      }),
      new winston.transports.Console(),
    ],
  });
  return memo.logger;
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

/** After a restore swapped the logs folder: a logger writing to a file reopens it in the new folder. */
export function reopenLogFile(config: AppConfig): void {
  if (memo.logger?.transports.some((transport) => transport instanceof winston.transports.File)) configureLogging(config);
}
