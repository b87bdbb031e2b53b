import "server-only";
import fs from "node:fs";
import path from "node:path";

/** docs/recovery.md, the stock-tool recovery steps, for the page that shows them. Reads one file. */
export function readRecoveryGuide(): string {
  return fs.readFileSync(path.join(/*turbopackIgnore: true*/ process.cwd(), "docs", "recovery.md"), "utf8");
}
