import { z } from "zod";
import { HISTORY_RANGES, SAMPLE_SERIES } from "@/lib/storage/types";
import { DAY_MS } from "@/lib/time";

/** Samples are kept this long (see DROP_AFTER_MS in sampler.ts); asking for more returns nothing more. */
const MAX_HISTORY_DAYS = 400;

export const storageHistoryQuery = z
  .object({
    range: z.enum(HISTORY_RANGES).optional(),
    since: z.iso
      .datetime({ offset: true, message: "an ISO-8601 time, e.g. 2025-01-15T00:00:00Z" })
      .transform((value) => new Date(value).toISOString())
      .optional(),
    volume: z.enum(SAMPLE_SERIES).optional(),
  })
  .refine((q) => !(q.range && q.since), { message: "give either 'range' or 'since', not both", path: ["since"] })
  .refine((q) => !q.since || Date.parse(q.since) <= Date.now(), { message: "'since' is in the future", path: ["since"] })
  .refine((q) => !q.since || Date.now() - Date.parse(q.since) <= MAX_HISTORY_DAYS * DAY_MS, {
    message: `'since' is more than ${MAX_HISTORY_DAYS} days ago; samples are not kept that long`,
    path: ["since"],
  });
export type StorageHistoryQuery = z.infer<typeof storageHistoryQuery>;

export const alertsQuery = z.object({ state: z.enum(["raised", "cleared"]).optional() });
