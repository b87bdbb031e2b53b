import { z } from "zod";
import { EXECUTION_STATUSES, TRIGGERS } from "@/lib/db/vocabulary";

export { EXECUTION_STATUSES, TRIGGERS };
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type Trigger = (typeof TRIGGERS)[number];

/** How much of a step's JSON result its record in job_executions.steps keeps (the whole of it is in the run's log). */
export const OUTPUT_SUMMARY_CHARS = 2000;

/** A step's result as its record keeps it: JSON text, cut to OUTPUT_SUMMARY_CHARS (null: no result). */
export function outputSummary(output: unknown): string | null {
  if (output === null || output === undefined) return null;
  const text = JSON.stringify(output);
  return text.length > OUTPUT_SUMMARY_CHARS ? `${text.slice(0, OUTPUT_SUMMARY_CHARS)}…` : text;
}

/** One step of a run, as recorded in job_executions.steps (Mimir's fields plus the output summary). */
export const stepRecord = z.object({
  step_name: z.string(),
  plugin: z.string(),
  start_time: z.string().nullable().optional(),
  end_time: z.string().nullable().optional(),
  duration: z.number().nullable().optional().describe("Step duration in nanoseconds (Go's time.Duration, as Mimir AIP stores it): 1500000000 is 1.5 s"),
  status: z.string(),
  error: z.string().nullable().optional(),
  /** the plugin's JSON result, cut to OUTPUT_SUMMARY_CHARS */
  output: z.string().nullable().optional(),
});
export type StepRecord = z.infer<typeof stepRecord>;

/** A history row in lists: everything but the (large) context and steps. */
export const executionSummary = z.object({
  id: z.string(),
  job_id: z.string(),
  pipeline: z.string(),
  start_time: z.string(),
  end_time: z.string().nullable(),
  duration: z
    .number()
    .nullable()
    .describe("Run duration in nanoseconds (Go's time.Duration, as Mimir AIP stores it in job_executions.duration): 1500000000 is 1.5 s"),
  status: z.enum(EXECUTION_STATUSES),
  error: z.string().nullable(),
  triggered_by: z.enum(TRIGGERS),
});
export type ExecutionSummary = z.infer<typeof executionSummary>;

export const executionDto = executionSummary.extend({
  context: z.record(z.string(), z.unknown()).nullable(),
  steps: z.array(stepRecord),
});
export type ExecutionDto = z.infer<typeof executionDto>;

export const executionStatistics = z.object({
  from: z.string(),
  to: z.string(),
  total_executions: z.number(),
  by_status: z.record(z.string(), z.number()),
  /** successes over finished runs (success + failed + cancelled), null when none finished */
  success_rate: z.number().nullable(),
  per_day: z.array(z.object({ day: z.string(), total: z.number(), by_status: z.record(z.string(), z.number()) })),
  duration_per_day: z.array(
    z.object({
      day: z.string(),
      runs: z.number(),
      p50_ms: z.number().nullable().describe("median run duration that day, in milliseconds"),
      p95_ms: z.number().nullable().describe("95th percentile run duration that day, in milliseconds"),
    }),
  ),
});
export type ExecutionStatistics = z.infer<typeof executionStatistics>;

export const executionLog = z.object({
  execution_id: z.string(),
  status: z.string(),
  /** byte offset this chunk starts at; pass next_offset back to follow a running run */
  offset: z.number(),
  next_offset: z.number(),
  content: z.string(),
  /** true once the run has finished and the whole file was read */
  complete: z.boolean(),
});
export type ExecutionLog = z.infer<typeof executionLog>;
