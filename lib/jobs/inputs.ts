import { z } from "zod";
import { pageQuery } from "@/lib/pagination";

/** Job ids travel in URLs and log lines: a strict pattern keeps `../` and spaces out. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const jobId = z
  .string()
  .regex(JOB_ID_PATTERN, "letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 100 characters")
  .refine((id) => !id.includes(".."), "may not contain '..'");

/** A job names its pipeline by name ("nightly-sync") or by file name in the pipelines volume ("sync.yaml"). */
export const pipelineRef = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,104}$/, "a pipeline name or a file name in the pipelines volume, such as 'sync.yaml'")
  .refine((ref) => !ref.includes(".."), "may not contain '..'");

const jobName = z.string().trim().min(1, "a job needs a name").max(200);
const cronExpr = z.string().trim().min(1, "a cron expression such as '0 2 * * *'").max(200);

/** Mimir AIP's body: `{"id"?, "name", "pipeline", "cron_expr", "enabled"?}`. Extra fields are ignored as Mimir did. */
export const createJobInput = z.object({
  id: jobId.optional(),
  name: jobName,
  pipeline: pipelineRef,
  cron_expr: cronExpr,
  enabled: z.boolean().default(true),
});
export type CreateJobInput = z.infer<typeof createJobInput>;

/** PUT takes any subset of the fields; the id never changes. */
export const updateJobInput = z
  .object({ name: jobName, pipeline: pipelineRef, cron_expr: cronExpr, enabled: z.boolean() })
  .partial()
  .refine((input) => Object.values(input).some((value) => value !== undefined), "give at least one of name, pipeline, cron_expr, enabled");
export type UpdateJobInput = z.infer<typeof updateJobInput>;

export const jobIdParams = z.object({ id: jobId });

export const listJobsQuery = pageQuery.extend({
  pipeline: pipelineRef.optional(),
});
export type ListJobsQuery = z.infer<typeof listJobsQuery>;

/** Per job: at most this many failed runs in a row before job.failed is sent. */
export const MAX_FAILURE_THRESHOLD = 100;

/** /api/v1/notifications/jobs/{jobId}: a Mimir-compatible path does not fix this segment, so it is named. */
export const jobNotificationParams = z.object({ jobId });

export const jobNotificationSettingsInput = z.object({ failure_threshold: z.number().int().min(1).max(MAX_FAILURE_THRESHOLD) }).strict();
