import "server-only";
import YAML from "yaml";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { decodeCursor, encodeCursor, type Page, type PageQuery } from "@/lib/pagination";
import { recordAudit } from "@/lib/audit/service";
import { scopeAllows, type Principal } from "@/lib/auth/scopes";
import type { PipelineRow } from "@/lib/db/schema/pipelines";
import { runAppWrite } from "@/lib/operations/write-gate";
import { parsePipelineText, type PipelineDefinition, type PipelineIssue } from "@/lib/pipelines/definition";
import { getStepChecker } from "@/lib/pipelines/step-checks";
import { removePipelineFiles, writePipelineFile } from "@/lib/pipelines/files";
import * as queries from "@/lib/pipelines/queries";
import { pipelineRefs } from "@/lib/pipelines/resolve";
import type { PipelineDto, PipelineSummary, ValidationResult } from "@/lib/pipelines/types";
import { z } from "zod";
import { maskDefinition, maskPipelineText, restoreMaskedSecrets } from "@/lib/pipelines/secrets";
import { assertMayChangeBuiltin, assertStepsAllowed, describePrincipal, ownerOf } from "@/lib/plugins/access";
import { describePipelineIssues, parseOnePipeline } from "@/lib/pipelines/parse";
import { pipelineTextFromBody } from "@/lib/pipelines/body";
import { formatCountOf } from "@/lib/format";

const nameKey = z.object({ name: z.string() });
/** A pipeline's page lists at most this many of the jobs that use it. */
const MAX_JOBS_LISTED_PER_PIPELINE = 100;

/** How many jobs use each pipeline, by name or by file name. */
async function countJobsUsingPipelines(names: string[]): Promise<Map<string, number>> {
  const counts = await queries.countJobsByPipelineRef(names.flatMap(pipelineRefs));
  return new Map(names.map((name) => [name, pipelineRefs(name).reduce((sum, ref) => sum + (counts.get(ref) ?? 0), 0)]));
}

async function listJobsUsingPipeline(name: string): Promise<{ id: string; name: string }[]> {
  return queries.selectJobsByPipelineRef(pipelineRefs(name), MAX_JOBS_LISTED_PER_PIPELINE);
}

/** Validates a pipeline text without storing it: every problem with its line and column. */
export function validatePipelineText(text: string): ValidationResult {
  const result = parsePipelineText(text, { checkStep: getStepChecker() });
  return result.ok ? { valid: true, errors: [] } : { valid: false, errors: result.issues };
}

function summarise(
  row: PipelineRow,
  jobsUsing: number,
  lastRun: PipelineSummary["last_run"],
): PipelineSummary & { definition: PipelineDefinition | null; issues: PipelineIssue[] } {
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
  const [usage, lastRuns] = await Promise.all([countJobsUsingPipelines(names), queries.selectLastRunByPipeline(names)]);
  const items = page.map((row) => {
    const { definition: _definition, issues: _issues, ...summary } = summarise(row, usage.get(row.name) ?? 0, lastRuns.get(row.name) ?? null);
    return summary;
  });
  return { items, next_cursor: rows.length > query.limit && items.length > 0 ? encodeCursor({ name: items.at(-1)!.name }) : null };
}

/** How many pipelines are stored. Reads only. */
export async function countPipelines(): Promise<number> {
  return queries.countPipelines();
}

/**
 * One pipeline with its text, definition, problems and the jobs that use it; not_found if absent.
 * For a `viewer` below write scope the steps' secrets are masked (lib/pipelines/secrets.ts); null is
 * the console itself, which sees them. Reads only.
 */
export async function getPipeline(name: string, viewer: Principal | null = null): Promise<PipelineDto> {
  const row = await queries.selectPipeline(name);
  if (!row) throw notFound("Pipeline", name);
  const [usage, lastRuns, jobs] = await Promise.all([countJobsUsingPipelines([name]), queries.selectLastRunByPipeline([name]), listJobsUsingPipeline(name)]);
  const summary = summarise(row, usage.get(name) ?? 0, lastRuns.get(name) ?? null);
  const definition = summary.definition as Record<string, unknown> | null;
  if (viewer && !scopeAllows(viewer.scope, "write")) return { ...summary, config: maskPipelineText(row.config), definition: maskDefinition(definition), jobs };
  return { ...summary, config: row.config, definition, jobs };
}

/** Refuses (403) a pipeline whose steps need more than the saver's scope. */
function assertSaverMayRun(definition: PipelineDefinition, principal: Principal | null): void {
  if (principal) assertStepsAllowed(definition, principal.scope, describePrincipal(principal));
}

/** Creates a pipeline from its text: writes `<name>.yaml` atomically and inserts the row. 409 if the name is taken. */
export async function createPipeline(text: string, principal: Principal | null): Promise<PipelineDto> {
  const definition = parseOnePipeline(text, { checkPlugins: true });
  assertMayChangeBuiltin("pipeline", definition.name, principal);
  assertSaverMayRun(definition, principal);
  await runAppWrite(async () => {
    if (await queries.selectPipeline(definition.name)) {
      throw new AppError("already_exists", `A pipeline named '${definition.name}' already exists: pick another name, or open that pipeline to change it`);
    }
    writePipelineFile(definition.name, text);
    const now = nowIso();
    await queries.insertPipeline({
      name: definition.name,
      description: definition.description ?? null,
      config: text,
      createdAt: now,
      updatedAt: now,
      ...ownerOf(principal),
    });
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
  const definition = parseOnePipeline(text, { checkPlugins: true });
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
  if (!source.definition)
    throw new AppError("invalid_pipeline", `Pipeline '${name}' is not valid, so it cannot be cloned: ${describePipelineIssues(source.issues)}`);
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
    throw new AppError(
      "in_use",
      `Pipeline '${name}' is used by ${formatCountOf(jobs.length, "job")}: ${jobs.map((job) => job.name).join(", ")}; delete or repoint them first, or force`,
      {
        details: { jobs },
      },
    );
  }
  await runAppWrite(async () => {
    removePipelineFiles(name);
    await queries.deletePipelineRow(name);
  });
  await recordAudit({ principal, action: "pipeline.delete", target: name, result: "ok", details: { forced: options.force, jobs_using: jobs.length } });
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
