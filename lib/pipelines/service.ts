import "server-only";
import fs from "node:fs";
import YAML from "yaml";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { decodeCursor, encodeCursor, type Page, type PageQuery } from "@/lib/pagination";
import { recordAudit } from "@/lib/audit/service";
import { scopeAllows, type Principal } from "@/lib/auth/scopes";
import type { PipelineRow } from "@/lib/db/schema";
import { runAppWrite } from "@/lib/operations/write-gate";
import { MAX_PIPELINE_TEXT_BYTES, mimirPipelineBody, parsePipelineText, type PipelineDefinition, type PipelineIssue } from "@/lib/pipelines/definition";
import { getStepChecker } from "@/lib/pipelines/step-checks";
import { pipelinesDir, readPipelineFile, readPipelineFiles, removePipelineFiles, writePipelineFile } from "@/lib/pipelines/files";
import * as queries from "@/lib/pipelines/queries";
import type { PipelineDto, PipelineSummary, SyncReport, ValidationResult } from "@/lib/pipelines/types";
import { countJobsUsingPipelines, listJobsUsingPipeline } from "@/lib/jobs/service";
import { lastRunByPipeline } from "@/lib/executions/service";
import { z } from "zod";
import { maskDefinition, maskPipelineText, restoreMaskedSecrets } from "@/lib/pipelines/secrets";
import { assertMayChangeBuiltin, assertStepsAllowed, describePrincipal, ownerOf, ownerScope } from "@/lib/scheduler/plugin-access";
import type { Scope } from "@/lib/auth/scopes";
import { jsonNestingExceeds, MAX_NESTING_DEPTH } from "@/lib/nesting";
import { formatCountOf } from "@/lib/format";

/** Rows read per batch when the whole table is walked (volume sync). */
const SYNC_BATCH_ROWS = 500;
/** Changes in the volume are picked up this long after the last one, so an editor's save burst syncs once. */
const WATCH_DEBOUNCE_MS = 300;
const nameKey = z.object({ name: z.string() });

/** The refs a job may use for this pipeline: its name and its file names. */
export function pipelineRefs(name: string): string[] {
  return [name, `${name}.yaml`, `${name}.yml`];
}

function describeIssues(issues: PipelineIssue[]): string {
  const [first] = issues;
  if (!first) return "The pipeline is not valid";
  const at = first.line === null ? "" : `line ${first.line}, column ${first.column}: `;
  const where = first.path ? `${first.path}: ` : "";
  return `${at}${where}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : ""}`;
}

/**
 * Parses a text into exactly one valid pipeline, or throws invalid_yaml / invalid_pipeline listing
 * every problem with its place. `checkPlugins` (a person saving) also refuses steps whose plugin does
 * not exist or whose config its plugin refuses; files synced from the volume and runs are not held to
 * it (a file is the truth there, and a run reports the same problem when it reaches the step).
 */
function parseOne(text: string, { checkPlugins = false }: { checkPlugins?: boolean } = {}): PipelineDefinition {
  const result = parsePipelineText(text, { checkStep: checkPlugins ? getStepChecker() : null });
  if (!result.ok) {
    const syntax = result.issues.every((issue) => issue.path === "" && issue.line !== null);
    throw new AppError(syntax ? "invalid_yaml" : "invalid_pipeline", describeIssues(result.issues), { details: result.issues });
  }
  if (result.pipelines.length !== 1) {
    throw new AppError("invalid_pipeline", `This text holds ${result.pipelines.length} pipelines; send one per request (a file in the volume may hold several)`);
  }
  return result.pipelines[0]!;
}

/**
 * Turns a request body into pipeline text: raw YAML (application/yaml, text/*), a JSON pipeline, or
 * Mimir AIP's `{"metadata": {…}, "config": {…}}` body (stored as YAML).
 */
export function pipelineTextFromBody(body: { contentType: string; text: string }): string {
  if (Buffer.byteLength(body.text) > MAX_PIPELINE_TEXT_BYTES) {
    throw new AppError("body_too_large", `A pipeline text is at most ${MAX_PIPELINE_TEXT_BYTES} bytes`);
  }
  const type = body.contentType.toLowerCase();
  if (!type.includes("json")) return body.text;
  // Turned into YAML below by recursive code: refuse deep nesting before it is built.
  if (jsonNestingExceeds(body.text) !== null) throw new AppError("invalid_json", `The JSON body nests more than ${MAX_NESTING_DEPTH} levels deep`);
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch (error) {
    throw new AppError("invalid_json", `The request body is not valid JSON: ${(error as Error).message}`);
  }
  const mimir = mimirPipelineBody.safeParse(value);
  if (mimir.success) {
    const { metadata, config } = mimir.data;
    // name and description first, as a person would write the file
    value = {
      name: metadata.name ?? config.name,
      ...(metadata.description !== undefined || config.description !== undefined ? { description: metadata.description ?? config.description } : {}),
      ...(metadata.enabled !== undefined ? { enabled: metadata.enabled } : {}),
      ...Object.fromEntries(Object.entries(config).filter(([key]) => key !== "name" && key !== "description")),
    };
  }
  return YAML.stringify(value);
}

/** Validates a pipeline text without storing it: every problem with its line and column. */
export function validatePipelineText(text: string): ValidationResult {
  const result = parsePipelineText(text, { checkStep: getStepChecker() });
  return result.ok ? { valid: true, errors: [] } : { valid: false, errors: result.issues };
}

function summarise(row: PipelineRow, jobsUsing: number, lastRun: PipelineSummary["last_run"]): PipelineSummary & { definition: PipelineDefinition | null; issues: PipelineIssue[] } {
  const parsed = parsePipelineText(row.config);
  const definition = parsed.ok ? parsed.pipelines[0]! : null;
  return {
    name: row.name,
    description: row.description ?? definition?.description ?? null,
    file: `${row.name}.yaml`,
    steps: definition ? definition.steps.length : null,
    enabled: definition?.enabled ?? true,
    valid: parsed.ok,
    jobs_using: jobsUsing,
    last_run: lastRun,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    definition,
    issues: parsed.ok ? [] : parsed.issues,
  };
}

/** A page of pipelines by name, with how many jobs use each and its last run. Reads only. */
export async function listPipelines(query: PageQuery): Promise<Page<PipelineSummary>> {
  const after = decodeCursor(query.cursor, nameKey);
  const rows = await queries.selectPipelines(query.limit + 1, after?.name);
  const page = rows.slice(0, query.limit);
  const names = page.map((row) => row.name);
  const [usage, lastRuns] = await Promise.all([countJobsUsingPipelines(names), lastRunByPipeline(names)]);
  const items = page.map((row) => {
    const { definition: _definition, issues: _issues, ...summary } = summarise(row, usage.get(row.name) ?? 0, lastRuns.get(row.name) ?? null);
    return summary;
  });
  return { items, next_cursor: rows.length > query.limit && items.length > 0 ? encodeCursor({ name: items.at(-1)!.name }) : null };
}

/**
 * One pipeline with its text, definition, problems and the jobs that use it; not_found if absent.
 * For a `viewer` below write scope the steps' secrets are masked (lib/pipelines/secrets.ts); null is
 * the console itself, which sees them. Reads only.
 */
export async function getPipeline(name: string, viewer: Principal | null = null): Promise<PipelineDto> {
  const row = await queries.selectPipeline(name);
  if (!row) throw notFound("Pipeline", name);
  const [usage, lastRuns, jobs] = await Promise.all([countJobsUsingPipelines([name]), lastRunByPipeline([name]), listJobsUsingPipeline(name)]);
  const summary = summarise(row, usage.get(name) ?? 0, lastRuns.get(name) ?? null);
  const definition = summary.definition as Record<string, unknown> | null;
  if (viewer && !scopeAllows(viewer.scope, "write")) return { ...summary, config: maskPipelineText(row.config), definition: maskDefinition(definition), jobs };
  return { ...summary, config: row.config, definition, jobs };
}

/**
 * What a run needs about the pipeline a job names: its definition and the scope of whoever last
 * saved it (admin for built-ins, files edited in the volume and rows from before owners were kept).
 * null when neither a stored pipeline nor a file holds it; invalid_pipeline as resolvePipeline.
 */
export async function resolvePipelineForRun(ref: string): Promise<{ definition: PipelineDefinition; owner: string | null; ownerScope: Scope } | null> {
  const definition = await resolvePipeline(ref);
  if (!definition) return null;
  const row = await queries.selectPipeline(ref.replace(/\.ya?ml$/i, ""));
  return { definition, owner: row?.owner ?? null, ownerScope: ownerScope(row?.ownerScope) };
}

/** Refuses (403) a pipeline whose steps need more than the saver's scope. */
function assertSaverMayRun(definition: PipelineDefinition, principal: Principal | null): void {
  if (principal) assertStepsAllowed(definition, principal.scope, describePrincipal(principal));
}

/**
 * Resolves what a job names (a pipeline name, or a file name in the volume) to a runnable definition,
 * or null when neither a stored pipeline nor a file holds it. A stored pipeline whose text is invalid
 * throws invalid_pipeline, so the run fails with the reason.
 */
export async function resolvePipeline(ref: string): Promise<PipelineDefinition | null> {
  const stem = ref.replace(/\.ya?ml$/i, "");
  const row = await queries.selectPipeline(stem);
  if (row) return parseOne(row.config);
  if (stem !== ref) {
    const text = readPipelineFile(ref);
    if (text !== null) {
      const parsed = parsePipelineText(text);
      if (!parsed.ok) throw new AppError("invalid_pipeline", `${ref}: ${describeIssues(parsed.issues)}`, { details: parsed.issues });
      return parsed.pipelines[0]!;
    }
  }
  return null;
}

/** For each ref, whether it resolves to a stored pipeline or a file in the volume. */
export async function pipelineRefsExist(refs: string[]): Promise<Map<string, boolean>> {
  const stems = [...new Set(refs.map((ref) => ref.replace(/\.ya?ml$/i, "")))];
  const stored = new Set((await queries.selectPipelinesByName(stems)).map((row) => row.name));
  return new Map(refs.map((ref) => [ref, stored.has(ref.replace(/\.ya?ml$/i, "")) || (ref !== ref.replace(/\.ya?ml$/i, "") && readPipelineFile(ref) !== null)]));
}

/** Creates a pipeline from its text: writes `<name>.yaml` atomically and inserts the row. 409 if the name is taken. */
export async function createPipeline(text: string, principal: Principal | null): Promise<PipelineDto> {
  const definition = parseOne(text, { checkPlugins: true });
  assertMayChangeBuiltin("pipeline", definition.name, principal);
  assertSaverMayRun(definition, principal);
  await runAppWrite(async () => {
    if (await queries.selectPipeline(definition.name)) {
      throw new AppError("already_exists", `A pipeline named '${definition.name}' already exists: pick another name, or open that pipeline to change it`);
    }
    writePipelineFile(definition.name, text);
    const now = nowIso();
    await queries.insertPipeline({ name: definition.name, description: definition.description ?? null, config: text, createdAt: now, updatedAt: now, ...ownerOf(principal) });
  });
  await recordAudit({ principal, action: "pipeline.create", target: definition.name, result: "ok" });
  return getPipeline(definition.name);
}

/**
 * Replaces a pipeline's text (file rewritten atomically, row updated). The name in the text must stay
 * the same. Secrets sent back still masked keep their stored values. Refused (403) for a built-in
 * pipeline below admin, and when the steps need more than the caller's scope.
 */
export async function updatePipeline(name: string, sentText: string, principal: Principal | null): Promise<PipelineDto> {
  assertMayChangeBuiltin("pipeline", name, principal);
  const stored = await queries.selectPipeline(name);
  const text = stored ? restoreMaskedSecrets(sentText, stored.config) : sentText;
  const definition = parseOne(text, { checkPlugins: true });
  if (definition.name !== name) {
    throw new AppError("invalid_pipeline", `The text names pipeline '${definition.name}' but this is '${name}'; to rename, clone it and delete the old one`, {
      details: [{ path: "name", message: `must be '${name}'` }],
    });
  }
  assertSaverMayRun(definition, principal);
  await runAppWrite(async () => {
    if (!(await queries.selectPipeline(name))) throw notFound("Pipeline", name);
    writePipelineFile(name, text);
    await queries.updatePipelineRow(name, { config: text, description: definition.description ?? null, updatedAt: nowIso(), ...ownerOf(principal) });
  });
  await recordAudit({ principal, action: "pipeline.update", target: name, result: "ok" });
  return getPipeline(name);
}

/** Copies a pipeline under a new name (its text with the name replaced). */
export async function clonePipeline(name: string, newName: string, principal: Principal | null, description?: string): Promise<PipelineDto> {
  const source = await getPipeline(name);
  if (!source.definition) throw new AppError("invalid_pipeline", `Pipeline '${name}' is not valid, so it cannot be cloned: ${describeIssues(source.issues)}`);
  const doc = YAML.parseDocument(source.config);
  doc.set("name", newName);
  if (description !== undefined) doc.set("description", description);
  return createPipeline(doc.toString(), principal);
}

/**
 * Deletes a pipeline's row and file. Refused (409 in_use) while a job names it unless `force`; forced,
 * those jobs stay and their runs fail with "pipeline does not exist" until they are pointed elsewhere.
 */
export async function deletePipeline(name: string, options: { force: boolean }, principal: Principal | null): Promise<void> {
  assertMayChangeBuiltin("pipeline", name, principal);
  await getPipeline(name);
  const jobs = await listJobsUsingPipeline(name);
  if (jobs.length > 0 && !options.force) {
    throw new AppError("in_use", `Pipeline '${name}' is used by ${formatCountOf(jobs.length, "job")}: ${jobs.map((job) => job.name).join(", ")}; delete or repoint them first, or force`, {
      details: { jobs },
    });
  }
  await runAppWrite(async () => {
    removePipelineFiles(name);
    await queries.deletePipelineRow(name);
  });
  await recordAudit({ principal, action: "pipeline.delete", target: name, result: "ok", details: { forced: options.force, jobs_using: jobs.length } });
}

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
    const sources = new Map<string, { text: string; canonical: boolean }>();
    for (const file of files) {
      const parsed = parsePipelineText(file.text);
      if (!parsed.ok) {
        report.invalid.push({ file: file.file, message: describeIssues(parsed.issues) });
        continue;
      }
      for (const definition of parsed.pipelines) {
        const canonical = parsed.pipelines.length === 1 && file.stem === definition.name;
        if (sources.get(definition.name)?.canonical) continue;
        sources.set(definition.name, { text: canonical ? file.text : YAML.stringify(definition), canonical });
      }
    }
    const now = nowIso();
    for (const [name, source] of sources) {
      const row = await queries.selectPipeline(name);
      const definition = parseOne(source.text);
      if (!row) {
        // A file in the volume was put there by whoever controls the host: it has no console owner.
        await queries.insertPipeline({ name, description: definition.description ?? null, config: source.text, createdAt: now, updatedAt: now, owner: null, ownerScope: null });
        report.imported.push(name);
      } else if (row.config !== source.text) {
        await queries.updatePipelineRow(name, { config: source.text, description: definition.description ?? null, updatedAt: now, owner: null, ownerScope: null });
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
          report.invalid.push({ file: `${row.name}.yaml`, message: `stored pipeline is not valid, file not written: ${parsed.ok ? "its name differs from the row" : describeIssues(parsed.issues)}` });
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

const memo = globalThis as typeof globalThis & { __mimirPipelineWatcher?: fs.FSWatcher };

/** Watches the pipelines volume and syncs shortly after a file changes there. Idempotent. */
export function watchPipelinesVolume(): void {
  if (memo.__mimirPipelineWatcher) return;
  let timer: NodeJS.Timeout | null = null;
  try {
    memo.__mimirPipelineWatcher = fs.watch(pipelinesDir(), { persistent: false }, (_event, file) => {
      if (file && (file.startsWith(".") || !/\.ya?ml$/i.test(file))) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        syncPipelinesWithVolume().catch((error) => getLogger().warn("pipeline volume sync failed", { error }));
      }, WATCH_DEBOUNCE_MS);
    });
    memo.__mimirPipelineWatcher.on("error", (error) => getLogger().warn("pipeline volume watcher stopped", { error }));
  } catch (error) {
    getLogger().warn("cannot watch the pipelines volume; files edited by hand appear at the next start", { error });
  }
}

/** Validates `body` when it holds a text, else the stored pipeline (not_found if absent). Reads only. */
export async function validateStoredOrGivenPipeline(name: string, body: { contentType: string; text: string } | null): Promise<ValidationResult> {
  if (body && body.text.trim() !== "") return validatePipelineText(pipelineTextFromBody(body));
  const row = await queries.selectPipeline(name);
  if (!row) throw notFound("Pipeline", name);
  return validatePipelineText(row.config);
}

/** Pipeline names for pickers, at most `limit` (by name). Reads only. */
export async function listPipelineNames(limit = 1000): Promise<string[]> {
  return queries.selectPipelineNames(limit);
}
