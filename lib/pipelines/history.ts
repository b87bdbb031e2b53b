import "server-only";
import type { Page, PageQuery } from "@/lib/pagination";
import { listExecutions } from "@/lib/executions/service";
import type { ExecutionSummary } from "@/lib/executions/types";
import { getPipeline } from "@/lib/pipelines/service";

/** A pipeline's runs, newest first (not_found for an unknown pipeline). Reads only. */
export async function listPipelineHistory(name: string, query: PageQuery): Promise<Page<ExecutionSummary>> {
  await getPipeline(name);
  return listExecutions({ ...query, pipeline: name });
}
