import { route } from "@/lib/http";
import { pipelineIdParams } from "@/lib/pipelines/inputs";
import { validateStoredOrGivenPipeline } from "@/lib/pipelines/service";

/**
 * Validates the stored pipeline, or the text in the body when one is sent. POST needs write like every
 * POST (the project's rule), though it changes nothing; GET validates the stored one with read.
 */
export const POST = route({ access: "write", audit: "pipeline.validate", params: pipelineIdParams, rawBody: true, readOnly: true }, ({ params, rawBody }) =>
  validateStoredOrGivenPipeline(params.id, rawBody),
);
export const GET = route({ access: "read", params: pipelineIdParams }, ({ params }) => validateStoredOrGivenPipeline(params.id, null));
