import { route } from "@/lib/http";
import { bareArrayPage } from "@/lib/http-link";
import { pageQuery } from "@/lib/pagination";
import { pipelineIdParams } from "@/lib/pipelines/inputs";
import { listPipelineHistory } from "@/lib/pipelines/history";

export const GET = route({ access: "read", params: pipelineIdParams, query: pageQuery }, async ({ params, query, url }) =>
  bareArrayPage(url, await listPipelineHistory(params.id, query)),
);
