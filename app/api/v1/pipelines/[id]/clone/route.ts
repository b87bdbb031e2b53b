import { json, route } from "@/lib/http";
import { clonePipelineInput, pipelineIdParams } from "@/lib/pipelines/inputs";
import { clonePipeline } from "@/lib/pipelines/service";

export const POST = route(
  { access: "write", audit: "pipeline.clone", params: pipelineIdParams, body: clonePipelineInput },
  async ({ params, body, principal }) => {
    const pipeline = await clonePipeline(params.id, body.name, principal, body.description);
    return json({ message: "Pipeline cloned successfully", pipeline }, 201);
  },
);
