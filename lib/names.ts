import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { AppError } from "@/lib/errors";

/**
 * Names that become file or folder names (backup ids, pipeline names, plugin names, table names):
 * a letter or digit first, then letters, digits, '.', '_' or '-', at most 128 characters, and never
 * "..". No separators, no NUL, no percent-encoding survives this, so a name cannot leave its folder.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isSafeName(name: string, pattern: RegExp = SAFE_NAME): boolean {
  return pattern.test(name) && !name.includes("..");
}

/** Throws 400 invalid_name unless `name` is safe by `pattern`. */
export function assertSafeName(what: string, name: string, pattern: RegExp = SAFE_NAME): void {
  if (!isSafeName(name, pattern)) {
    throw new AppError(
      "invalid_name",
      `${what} '${name.slice(0, 80)}' is not allowed: letters, digits, '.', '_' or '-' only, starting with a letter or digit, no '..'`,
    );
  }
}

/**
 * The path of `name` inside `root`, after checking the name, refusing a symlink at that path
 * (lstat), and confirming the real path of the entry's parent is `root` itself. Throws 400 for a
 * bad name, 404 when the entry does not exist (unless `mustExist: false`).
 */
export async function resolveInside(root: string, name: string, options: { what?: string; pattern?: RegExp; mustExist?: boolean } = {}): Promise<string> {
  const what = options.what ?? "name";
  assertSafeName(what, name, options.pattern);
  const realRoot = await fs.realpath(root);
  const candidate = path.join(/*turbopackIgnore: true*/ realRoot, name);
  if (path.dirname(candidate) !== realRoot) throw new AppError("invalid_name", `${what} '${name}' does not stay inside its folder`);
  try {
    const stat = await fs.lstat(candidate);
    if (stat.isSymbolicLink()) throw new AppError("invalid_name", `${what} '${name}' is a symbolic link; links are never followed`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    if (options.mustExist ?? true) throw new AppError("not_found", `${what} '${name}' does not exist`);
  }
  return candidate;
}
