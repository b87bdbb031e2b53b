import "server-only";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";

/** This installation's folders, as the recovery steps name them (`$MIMIR_HOME/data`, …). */
export interface RecoveryPaths {
  home: string;
  folders: { name: string; path: string; default: boolean }[];
}

/**
 * docs/recovery.md, the stock-tool recovery steps, for the page that shows them, with its
 * `MIMIR_HOME=/app` line set to this installation's home, so the commands fit a checkout as well as
 * the image. Reads one file.
 */
export function readRecoveryGuide(): { markdown: string; paths: RecoveryPaths } {
  const { paths } = getConfig();
  const text = fs.readFileSync(path.join(/*turbopackIgnore: true*/ process.cwd(), "docs", "recovery.md"), "utf8");
  const markdown = text.replace(/^MIMIR_HOME=\/app\s.*$/m, `MIMIR_HOME=${shellQuote(paths.home)}`);
  const under = (name: string, folder: string) => ({ name, path: folder, default: path.resolve(folder) === path.resolve(paths.home, name) });
  return {
    markdown,
    paths: {
      home: paths.home,
      folders: [
        under("data", paths.data),
        under("logs", paths.logs),
        under("config", paths.config),
        under("plugins", paths.plugins),
        under("pipelines", paths.pipelines),
        under("backups", paths.backups),
      ],
    },
  };
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
