import { z } from "zod";

export const jobLastResult = z.object({
  success: z.boolean(),
  error: z.string().optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  executed_at: z.string().optional(),
  status: z.string().optional(),
  execution_id: z.string().optional(),
});

/** A scheduled job as the API returns it: Mimir AIP's fields, plus what the pages show beside them. */
export const jobDto = z.object({
  id: z.string(),
  name: z.string(),
  pipeline: z.string(),
  cron_expr: z.string(),
  enabled: z.boolean(),
  next_run: z.string().nullable(),
  last_run: z.string().nullable(),
  last_result: jobLastResult.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** the cron expression in words ("At 02:00, every day") */
  cron_description: z.string(),
  /** false when the pipeline it names is neither a stored pipeline nor a file in the volume */
  pipeline_exists: z.boolean(),
});
export type JobDto = z.infer<typeof jobDto>;
export type JobLastResult = z.infer<typeof jobLastResult>;
