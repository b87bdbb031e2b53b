import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import YAML from "yaml";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { runAppWrite } from "@/lib/operations/write-gate";
import { writesRefusedHere } from "@/lib/db/write-freeze";
import { parsePipelineText, type PipelineDefinition } from "@/lib/pipelines/definition";
import { pipelinesDir, readPipelineFiles, writePipelineFile } from "@/lib/pipelines/files";
import * as queries from "@/lib/pipelines/queries";
import type { SyncReport } from "@/lib/pipelines/types";
import { describePipelineIssues } from "@/lib/pipelines/parse";
import { yieldEvery } from "@/lib/event-loop";

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
    // Runs on the main thread at boot, after a restore and on every change in the volume: with
    // hundreds of pipelines, parsing them all in one go held every request for seconds.
    const pause = yieldEvery();
    const stored = new Map<string, string>();
    for (let after: string | null = null; ;) {
      const rows = await queries.selectPipelines(SYNC_BATCH_ROWS, after);
      for (const row of rows) stored.set(row.name, row.config);
      if (rows.length < SYNC_BATCH_ROWS) break;
      after = rows.at(-1)!.name;
      await pause();
    }
    const { files, skipped } = readPipelineFiles();
    report.invalid.push(...skipped.map((entry) => ({ file: entry.file, message: entry.reason })));
    /** Per pipeline name, the text its row should hold; `definition` is null when the row holds it already. */
    const sources = new Map<string, { text: string; canonical: boolean; definition: PipelineDefinition | null }>();
    for (const file of files) {
      await pause();
      // A file whose text is its namesake row's, byte for byte, holds that one pipeline (a row's text
      // always defines the pipeline it is named for): nothing to parse or write. After a restore or
      // the app's own writes, that is every file.
      if (stored.get(file.stem) === file.text) {
        sources.set(file.stem, { text: file.text, canonical: true, definition: null });
        continue;
      }
      const parsed = parsePipelineText(file.text);
      if (!parsed.ok) {
        report.invalid.push({ file: file.file, message: describePipelineIssues(parsed.issues) });
        continue;
      }
      for (const definition of parsed.pipelines) {
        const canonical = parsed.pipelines.length === 1 && file.stem === definition.name;
        if (sources.get(definition.name)?.canonical) continue;
        sources.set(definition.name, { text: canonical ? file.text : YAML.stringify(definition), canonical, definition });
      }
    }
    const now = nowIso();
    for (const [name, { text, definition }] of sources) {
      const config = stored.get(name);
      if (!definition || config === text) continue;
      await pause();
      if (config === undefined) {
        // A file in the volume was put there by whoever controls the host: it has no console owner.
        await queries.insertPipeline({
          name,
          description: definition.description ?? null,
          config: text,
          createdAt: now,
          updatedAt: now,
          owner: null,
          ownerScope: null,
        });
        report.imported.push(name);
      } else {
        await queries.updatePipelineRow(name, {
          config: text,
          description: definition.description ?? null,
          updatedAt: now,
          owner: null,
          ownerScope: null,
        });
        report.updated.push(name);
      }
    }
    for (const [name, config] of stored) {
      if (sources.has(name)) continue;
      await pause();
      const parsed = parsePipelineText(config);
      if (!parsed.ok || parsed.pipelines.length !== 1 || parsed.pipelines[0]!.name !== name) {
        report.invalid.push({
          file: `${name}.yaml`,
          message: `stored pipeline is not valid, file not written: ${parsed.ok ? "its name differs from the row" : describePipelineIssues(parsed.issues)}`,
        });
        continue;
      }
      // Mimir AIP stored some pipelines as JSON text; the file and the row get the same YAML.
      const text = config.trimStart().startsWith("{") ? YAML.stringify(parsed.pipelines[0]) : config;
      writePipelineFile(name, text);
      if (text !== config) await queries.updatePipelineRow(name, { config: text, updatedAt: now });
      report.written.push(name);
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
