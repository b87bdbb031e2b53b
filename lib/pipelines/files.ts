import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { FILE_MODE } from "@/lib/files";
import { AppError } from "@/lib/errors";
import { PIPELINE_NAME_PATTERN } from "@/lib/pipelines/definition";

/** A pipeline file larger than this is not read: no hand-written pipeline comes near it. */
export const MAX_PIPELINE_FILE_BYTES = 1024 * 1024;
const PIPELINE_FILE = /^([A-Za-z0-9][A-Za-z0-9._-]{0,99})\.ya?ml$/;

export interface PipelineFile {
  file: string;
  /** file name without .yaml/.yml */
  stem: string;
  text: string;
  mtimeMs: number;
}

/** The volume folder, resolved from config. */
export function pipelinesDir(): string {
  return getConfig().paths.pipelines;
}

/** The canonical file of a pipeline: `<name>.yaml`, checked to resolve inside the volume. */
export function pipelineFilePath(name: string): string {
  if (!PIPELINE_NAME_PATTERN.test(name) || name.includes("..")) throw new AppError("invalid_name", `'${name}' is not a valid pipeline name`);
  const dir = path.resolve(pipelinesDir());
  const file = path.resolve(dir, `${name}.yaml`);
  if (path.dirname(file) !== dir) throw new AppError("invalid_name", `'${name}' does not resolve inside the pipelines volume`);
  return file;
}

/** Every `*.yaml`/`*.yml` file at the top of the volume (hidden and temporary files skipped). */
export function readPipelineFiles(): { files: PipelineFile[]; skipped: { file: string; reason: string }[] } {
  const dir = pipelinesDir();
  const files: PipelineFile[] = [];
  const skipped: { file: string; reason: string }[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { files, skipped };
    throw error;
  }
  for (const entry of entries) {
    const match = PIPELINE_FILE.exec(entry.name);
    if (!match || !entry.isFile()) continue;
    const full = path.join(dir, entry.name);
    const stat = fs.statSync(full);
    if (stat.size > MAX_PIPELINE_FILE_BYTES) {
      skipped.push({ file: entry.name, reason: `larger than ${MAX_PIPELINE_FILE_BYTES} bytes` });
      continue;
    }
    files.push({ file: entry.name, stem: match[1]!, text: fs.readFileSync(full, "utf8"), mtimeMs: stat.mtimeMs });
  }
  files.sort((a, b) => a.file.localeCompare(b.file));
  return { files, skipped };
}

/** One named file's text, or null when the volume has no such file. */
export function readPipelineFile(fileName: string): string | null {
  if (!PIPELINE_FILE.test(fileName)) return null;
  try {
    const full = path.join(pipelinesDir(), fileName);
    if (fs.statSync(full).size > MAX_PIPELINE_FILE_BYTES) return null;
    return fs.readFileSync(full, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * Writes `<name>.yaml` atomically: a temporary file in the same folder, fsync, rename. A reader (or a
 * backup) sees the old file or the new one, never half of one. Callers hold the app write gate.
 */
export function writePipelineFile(name: string, text: string): void {
  const target = pipelineFilePath(name);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${name}.${crypto.randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(temp, "wx", FILE_MODE);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/** Removes `<name>.yaml` and `<name>.yml` if present. Callers hold the app write gate. */
export function removePipelineFiles(name: string): void {
  const yaml = pipelineFilePath(name);
  fs.rmSync(yaml, { force: true });
  fs.rmSync(yaml.replace(/\.yaml$/, ".yml"), { force: true });
}
