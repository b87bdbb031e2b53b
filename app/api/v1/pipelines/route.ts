import { json, route } from "@/lib/http";
import { bareArrayPage } from "@/lib/http-link";
import { listPipelinesQuery } from "@/lib/pipelines/inputs";
import { createPipeline, listPipelines } from "@/lib/pipelines/service";
import { pipelineTextFromBody } from "@/lib/pipelines/body";

export const GET = route({ access: "read", query: listPipelinesQuery }, async ({ query, url }) => bareArrayPage(url, await listPipelines(query)));

/** YAML (application/yaml, text/*), a JSON pipeline, or Mimir AIP's {"metadata","config"} body. */
export const POST = route({ access: "write", audit: "pipeline.create", rawBody: true }, async ({ rawBody, principal }) => {
  const pipeline = await createPipeline(pipelineTextFromBody(rawBody!), principal);
  return json({ message: "Pipeline created successfully", pipeline }, 201);
});
