import { route } from "@/lib/http";
import { bareArrayPage } from "@/lib/http-link";
import { listExecutionsQuery } from "@/lib/executions/inputs";
import { listExecutions } from "@/lib/executions/service";

/** Execution history, newest first: filters job_id, pipeline, status, triggered_by, from, to; paged by Link header. */
export const GET = route({ access: "read", query: listExecutionsQuery }, async ({ query, url }) => bareArrayPage(url, await listExecutions(query)));
