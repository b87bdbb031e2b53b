import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import type { InstanceDto } from "@/lib/instances/types";

const instanceSchema = z
  .object({
    id: z.string(),
    host: z.string(),
    pid: z.number(),
    version: z.string(),
    started_at: z.string(),
    last_seen: z.string(),
    lease_until: z.string(),
    stopped_at: z.string().nullable(),
    stop_reason: z.string().nullable(),
    self: z.boolean(),
    running: z.array(z.object({ kind: z.enum(["run", "operation"]), id: z.string(), label: z.string() })),
  })
  .loose() satisfies z.ZodType<InstanceDto>;

/** The instances' route, for the OpenAPI document. */
export const INSTANCES_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/instances",
    summary:
      "The server instances sharing this database (several on one PostgreSQL, one on SQLite), live ones first: host, pid, version, when each started and was last seen, its lease, and the runs and operations it runs now; stopped ones say why",
    tag: "Instances",
    access: "read",
    responses: { 200: { description: "The instances", schema: z.object({ items: z.array(instanceSchema) }) } },
  },
];
