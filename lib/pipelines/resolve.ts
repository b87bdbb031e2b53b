import "server-only";
import { AppError } from "@/lib/errors";
import { parsePipelineText, type PipelineDefinition } from "@/lib/pipelines/definition";
import { readPipelineFile } from "@/lib/pipelines/files";
import * as queries from "@/lib/pipelines/queries";
import { ownerScope } from "@/lib/plugins/access";
import type { Scope } from "@/lib/auth/scopes";
import { describePipelineIssues, parseOnePipeline } from "@/lib/pipelines/parse";

// What a job or a run names (a pipeline's name, or a file in the volume) resolved to a definition:
// jobs and the scheduler need only this of pipelines, not their editing.

/** The refs a job may use for this pipeline: its name and its file names. */
export function pipelineRefs(name: string): string[] {
  return [name, `${name}.yaml`, `${name}.yml`];
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

/**
 * Resolves what a job names (a pipeline name, or a file name in the volume) to a runnable definition,
 * or null when neither a stored pipeline nor a file holds it. A stored pipeline whose text is invalid
 * throws invalid_pipeline, so the run fails with the reason.
 */
export async function resolvePipeline(ref: string): Promise<PipelineDefinition | null> {
  const stem = ref.replace(/\.ya?ml$/i, "");
  const row = await queries.selectPipeline(stem);
  if (row) return parseOnePipeline(row.config);
  if (stem !== ref) {
    const text = readPipelineFile(ref);
    if (text !== null) {
      const parsed = parsePipelineText(text);
      if (!parsed.ok) throw new AppError("invalid_pipeline", `${ref}: ${describePipelineIssues(parsed.issues)}`, { details: parsed.issues });
      return parsed.pipelines[0]!;
    }
  }
  return null;
}

/** For each ref, whether it resolves to a stored pipeline or a file in the volume. */
export async function pipelineRefsExist(refs: string[]): Promise<Map<string, boolean>> {
  const stems = [...new Set(refs.map((ref) => ref.replace(/\.ya?ml$/i, "")))];
  const stored = new Set((await queries.selectPipelinesByName(stems)).map((row) => row.name));
  return new Map(
    refs.map((ref) => [ref, stored.has(ref.replace(/\.ya?ml$/i, "")) || (ref !== ref.replace(/\.ya?ml$/i, "") && readPipelineFile(ref) !== null)]),
  );
}
