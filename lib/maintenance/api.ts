import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi/registry";
import { resetInput } from "@/lib/maintenance/inputs";

const TAG = "Database maintenance";

const operation = z.object({ id: z.string(), kind: z.string(), status: z.string() }).loose();
const resetPreview = z.object({
  instance_name: z.string(),
  volumes: z.array(z.object({ name: z.string(), folder: z.string(), files: z.number(), bytes: z.number() })),
  rows: z.object({ jobs: z.number(), pipelines: z.number(), executions: z.number() }),
  kept_tables: z.array(z.string()),
});

/** The maintenance routes documented in the OpenAPI document. */
export const MAINTENANCE_API: ApiRoute[] = [
  { method: "get", path: "/api/v1/reset", summary: "What a reset would delete per volume, and the instance name to confirm with", tag: TAG, access: "admin", responses: { 200: { description: "Preview", schema: resetPreview } } },
  {
    method: "post",
    path: "/api/v1/reset",
    summary:
      "Reset all data (exclusive operation): stop the scheduler, take a pre-reset backup, empty the chosen volumes (users, API tokens and the audit log are kept), rebuild. `confirm` is the instance name; browser sessions repeat their password in X-Mimir-Password",
    tag: TAG,
    access: "admin",
    body: resetInput,
    responses: { 202: { description: "The reset operation; its result names the safety backup", schema: operation }, 409: { description: "Another operation or a job run is in progress" } },
  },
];
