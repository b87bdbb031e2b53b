import { z } from "zod";

export const pipelineIssue = z.object({
  line: z.number().nullable(),
  column: z.number().nullable(),
  offset: z.number().nullable(),
  path: z.string(),
  message: z.string(),
});

/** A pipeline in lists: what the pipelines page shows. */
export const pipelineSummary = z.object({
  name: z.string(),
  description: z.string().nullable(),
  /** the file in the pipelines volume that holds it */
  file: z.string(),
  steps: z.number().nullable(),
  enabled: z.boolean(),
  valid: z.boolean(),
  jobs_using: z.number(),
  last_run: z.object({ start_time: z.string(), status: z.string() }).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type PipelineSummary = z.infer<typeof pipelineSummary>;

export const pipelineDto = pipelineSummary.extend({
  /** the stored definition text (YAML, or JSON as Mimir AIP stored it) */
  config: z.string(),
  definition: z.record(z.string(), z.unknown()).nullable(),
  issues: z.array(pipelineIssue),
  jobs: z.array(z.object({ id: z.string(), name: z.string() })),
});
export type PipelineDto = z.infer<typeof pipelineDto>;

export const validationResult = z.object({ valid: z.boolean(), errors: z.array(pipelineIssue) });
export type ValidationResult = z.infer<typeof validationResult>;

export const syncReport = z.object({
  imported: z.array(z.string()),
  updated: z.array(z.string()),
  written: z.array(z.string()),
  invalid: z.array(z.object({ file: z.string(), message: z.string() })),
});
export type SyncReport = z.infer<typeof syncReport>;
