import { route } from "@/lib/http";
import { bareArrayPage } from "@/lib/http-link";
import { jobIdParams } from "@/lib/jobs/inputs";
import { pageQuery } from "@/lib/pagination";
import { listJobHistory } from "@/lib/jobs/runs";

/** Mimir AIP's job logs: the job's executions, newest first, paged by Link header. */
export const GET = route({ access: "read", params: jobIdParams, query: pageQuery }, async ({ params, query, url }) =>
  bareArrayPage(url, await listJobHistory(params.id, query)),
);
