import { route } from "@/lib/http";
import { executePipelineInput } from "@/lib/pipelines/inputs";
import { executePipelineNow } from "@/lib/scheduler/run";

/** Mimir AIP's ad-hoc run: `{"pipeline_name" | "pipeline_file", "context"?}`; answers when the run is over. */
export const POST = route({ access: "write", audit: "pipeline.execute", body: executePipelineInput }, ({ body, principal }) =>
  executePipelineNow((body.pipeline_name ?? body.pipeline_file)!, body.context ?? {}, principal),
);
