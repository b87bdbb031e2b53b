import { z } from "zod";
import { pageQuery } from "@/lib/pagination";
import { EXECUTION_STATUSES, TRIGGERS } from "@/lib/executions/types";

/** Execution ids are ours (UUIDs) or Mimir's; either way a strict pattern keeps them out of path tricks. */
export const executionId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "an execution id: letters, digits, '.', '_' and '-'")
  .refine((id) => !id.includes(".."), "may not contain '..'");

const isoTime = z.iso.datetime({ offset: true, message: "an ISO-8601 time such as 2025-01-15T02:00:00Z" }).transform((value) => new Date(value).toISOString());
const filterText = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "letters, digits, '.', '_' and '-'");

/** Filters of the history: each one is served by an index that ends in start_time. */
export const historyFilters = z.object({
  job_id: filterText.optional(),
  pipeline: filterText.optional(),
  status: z.enum(EXECUTION_STATUSES).optional(),
  triggered_by: z.enum(TRIGGERS).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
});
export type HistoryFilters = z.infer<typeof historyFilters>;

export const listExecutionsQuery = pageQuery.extend(historyFilters.shape);
export type ListExecutionsQuery = z.infer<typeof listExecutionsQuery>;

/** The statistics window: at most MAX_STATISTICS_DAYS, 30 days back from now by default. */
export const MAX_STATISTICS_DAYS = 366;
export const DEFAULT_STATISTICS_DAYS = 30;
export const statisticsQuery = z.object({
  job_id: filterText.optional(),
  pipeline: filterText.optional(),
  /** only runs of this status: the window counts what the history below it lists */
  status: z.enum(EXECUTION_STATUSES).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
});
export type StatisticsQuery = z.infer<typeof statisticsQuery>;

export const recentQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

export const executionIdParams = z.object({ id: executionId });

export const logQuery = z.object({ offset: z.coerce.number().int().min(0).default(0) });
