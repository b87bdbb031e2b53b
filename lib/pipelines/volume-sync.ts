import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import YAML from "yaml";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { runAppWrite } from "@/lib/operations/write-gate";
import { writesRefusedHere } from "@/lib/db/write-freeze";
import { parsePipelineText } from "@/lib/pipelines/definition";
import { pipelinesDir, readPipelineFiles, writePipelineFile } from "@/lib/pipelines/files";
import * as queries from "@/lib/pipelines/queries";
import type { SyncReport } from "@/lib/pipelines/types";
import { describePipelineIssues } from "@/lib/pipelines/parse";

// The pipelines volume and the pipelines table kept in agreement: at boot, after a restore, and while
// a person edits files in the volume.

/** Rows read per batch when the whole table is walked (volume sync). */
const SYNC_BATCH_ROWS = 500;
/** Changes in the volume are picked up this long after the last one, so an editor's save burst syncs once. */
const WATCH_DEBOUNCE_MS = 300;

/**
 * Brings rows and files into agreement. Files are the source for the names they hold: a file added
 * or edited by hand is imported (for a name found in several files, `<name>.yaml` wins over a
 * `pipelines: [...]` bundle). A row with no file gets `<name>.yaml` written (an adopted Mimir
 * database), so deleting a file by hand does not delete a pipeline: delete it in the app or API.
 * An invalid file is reported and left alone. Writes rows and files through the app write gate.
 */
export async function syncPipelinesWithVolume(): Promise<SyncReport> {
  return runAppWrite(async () => {
    const report: SyncReport = { imported: [], updated: [], written: [], invalid: [] };
    const { files, skipped } = readPipelineFiles();
    report.invalid.push(...skipped.map((entry) => ({ file: entry.file, message: entry.reason })));
    // Each file is parsed once: its definition's description is kept beside the text for the row (after
    // a restore this walks every pipeline, and a second parse of each was most of the garbage the
    // server collected then: bench/RESULTS-restore-memory.md).
    const sources = new Map<string, { text: string; canonical: boolean; description: string | null }>();
    for (const file of files) {
      const parsed = parsePipelineText(file.text);
      if (!parsed.ok) {
        report.invalid.push({ file: file.file, message: describePipelineIssues(parsed.issues) });
        continue;
      }
      for (const definition of parsed.pipelines) {
        const canonical = parsed.pipelines.length === 1 && file.stem === definition.name;
        if (sources.get(definition.name)?.canonical) continue;
        sources.set(definition.name, { text: canonical ? file.text : YAML.stringify(definition), canonical, description: definition.description ?? null });
      }
    }
    const now = nowIso();
    for (const [name, source] of sources) {
      const row = await queries.selectPipeline(name);
      if (!row) {
        // A file in the volume was put there by whoever controls the host: it has no console owner.
        await queries.insertPipeline({
          name,
          description: source.description,
          config: source.text,
          createdAt: now,
          updatedAt: now,
          owner: null,
          ownerScope: null,
        });
        report.imported.push(name);
      } else if (row.config !== source.text) {
        await queries.updatePipelineRow(name, {
          config: source.text,
          description: source.description,
          updatedAt: now,
          owner: null,
          ownerScope: null,
        });
        report.updated.push(name);
      }
    }
    let after: string | null = null;
    for (;;) {
      const rows = await queries.selectPipelines(SYNC_BATCH_ROWS, after);
      for (const row of rows) {
        if (sources.has(row.name)) continue;
        const parsed = parsePipelineText(row.config);
        if (!parsed.ok || parsed.pipelines.length !== 1 || parsed.pipelines[0]!.name !== row.name) {
          report.invalid.push({
            file: `${row.name}.yaml`,
            message: `stored pipeline is not valid, file not written: ${parsed.ok ? "its name differs from the row" : describePipelineIssues(parsed.issues)}`,
          });
          continue;
        }
        // Mimir AIP stored some pipelines as JSON text; the file and the row get the same YAML.
        const text = row.config.trimStart().startsWith("{") ? YAML.stringify(parsed.pipelines[0]) : row.config;
        writePipelineFile(row.name, text);
        if (text !== row.config) await queries.updatePipelineRow(row.name, { config: text, updatedAt: now });
        report.written.push(row.name);
      }
      if (rows.length < SYNC_BATCH_ROWS) break;
      after = rows.at(-1)!.name;
    }
    if (report.imported.length + report.updated.length + report.written.length + report.invalid.length > 0) {
      getLogger().info("pipelines synced with the volume", report);
    }
    return report;
  });
}

const memo = processState("pipelineWatcher", (): { pipelineWatcher?: fs.FSWatcher } => ({}));

/** Watches the pipelines volume and syncs shortly after a file changes there. Idempotent. */
export function watchPipelinesVolume(): void {
  if (memo.pipelineWatcher) return;
  let timer: NodeJS.Timeout | null = null;
  try {
    memo.pipelineWatcher = fs.watch(pipelinesDir(), { persistent: false }, (_event, file) => {
      if (file && (file.startsWith(".") || !/\.ya?ml$/i.test(file))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        // A file edited while writes are frozen for a switch to PostgreSQL is read in by the next boot's sync.
        if (writesRefusedHere() !== null) return void getLogger().info("pipeline file change left for the next start: writes are frozen", { file });
        syncPipelinesWithVolume().catch((error) => getLogger().warn("pipeline volume sync failed", { error }));
      }, WATCH_DEBOUNCE_MS);
    });
    memo.pipelineWatcher.on("error", (error) => getLogger().warn("pipeline volume watcher stopped", { error }));
  } catch (error) {
    getLogger().warn("cannot watch the pipelines volume; files edited by hand appear at the next start", { error });
  }
}
