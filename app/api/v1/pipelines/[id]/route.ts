import { route } from "@/lib/http";
import { deletePipelineQuery, pipelineIdParams } from "@/lib/pipelines/inputs";
import { deletePipeline, getPipeline, updatePipeline } from "@/lib/pipelines/service";
import { pipelineTextFromBody } from "@/lib/pipelines/body";

export const GET = route({ access: "read", params: pipelineIdParams }, ({ params, principal }) => getPipeline(params.id, principal));

export const PUT = route({ access: "write", audit: "pipeline.update", params: pipelineIdParams, rawBody: true }, async ({ params, rawBody, principal }) => {
  const pipeline = await updatePipeline(params.id, pipelineTextFromBody(rawBody!), principal);
  return { message: "Pipeline updated successfully", pipeline };
});

/** `?force=true` deletes a pipeline that jobs still use (their runs then fail until repointed). */
export const DELETE = route(
  { access: "admin", params: pipelineIdParams, query: deletePipelineQuery, reauth: true, audit: "pipeline.delete" },
  async ({ params, query, principal }) => {
    await deletePipeline(params.id, { force: query.force }, principal);
    return { message: "Pipeline deleted successfully", pipeline: params.id };
  },
);
