import "server-only";
import { countJobs } from "@/lib/jobs/service";
import { countPipelines } from "@/lib/pipelines/service";
import { countExecutions, countExecutionsByStatusSince } from "@/lib/executions/service";
import { DAY_MS } from "@/lib/time";

export interface OverviewCounts {
  jobs: { total: number; enabled: number };
  pipelines: number;
  executions: number;
  last24h: Record<string, number>;
}

/** What the Overview page counts: jobs, pipelines, executions, and the last day's runs by status. Reads only. */
export async function getOverviewCounts(now = Date.now()): Promise<OverviewCounts> {
  const [jobs, pipelines, executions, last24h] = await Promise.all([
    countJobs(),
    countPipelines(),
    countExecutions(),
    countExecutionsByStatusSince(new Date(now - DAY_MS).toISOString()),
  ]);
  return { jobs, pipelines, executions, last24h };
}
