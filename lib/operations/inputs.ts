import { z } from "zod";
import { pageQuery } from "@/lib/pagination";

export const operationIdParams = z.object({ operationId: z.uuid("an operation id (UUID)") });
export const listOperationsQuery = pageQuery.extend({
  kind: z
    .string()
    .regex(/^[a-z_.-]{1,64}$/)
    .optional(),
});
