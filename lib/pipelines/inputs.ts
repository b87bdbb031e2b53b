import { z } from "zod";
import { pageQuery } from "@/lib/pagination";
import { MAX_PIPELINE_TEXT_BYTES, pipelineName } from "@/lib/pipelines/definition";

/** A pipeline in a URL: its name, or its file name ("sync.yaml"), which names the same pipeline. */
export const pipelineIdParams = z.object({
  id: z
    .string()
    .transform((id) => id.replace(/\.ya?ml$/i, ""))
    .pipe(pipelineName),
});

export const listPipelinesQuery = pageQuery;

export const deletePipelineQuery = z.object({
  force: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((value) => value === "true" || value === "1"),
});

export const clonePipelineInput = z.object({ name: pipelineName, description: z.string().max(2000).optional() });
export type ClonePipelineInput = z.infer<typeof clonePipelineInput>;

/** POST /pipelines/execute, Mimir AIP's body: a pipeline by name or by file, and an initial context. */
export const executePipelineInput = z
  .object({
    pipeline_name: z.string().trim().min(1).max(105).optional(),
    pipeline_file: z.string().trim().min(1).max(105).optional(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((input) => input.pipeline_name || input.pipeline_file, "give pipeline_name or pipeline_file");
export type ExecutePipelineInput = z.infer<typeof executePipelineInput>;

/** The pipeline text as the editor sends it. */
export const pipelineTextInput = z.object({
  text: z.string().max(MAX_PIPELINE_TEXT_BYTES, `a pipeline text is at most ${MAX_PIPELINE_TEXT_BYTES / 1024} KiB`),
});
