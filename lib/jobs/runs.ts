import "server-only";
import type { Page, PageQuery } from "@/lib/pagination";
import { listExecutions } from "@/lib/executions/service";
import type { ExecutionSummary } from "@/lib/executions/types";
import { getJob } from "@/lib/jobs/service";

/** A job's runs, newest first (not_found for an unknown job). Reads only. */
export async function listJobHistory(jobId: string, query: PageQuery): Promise<Page<ExecutionSummary>> {
  await getJob(jobId);
  return listExecutions({ ...query, job_id: jobId });
}
