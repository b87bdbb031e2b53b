"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { pipelineName } from "@/lib/pipelines/definition";
import { pipelineTextInput } from "@/lib/pipelines/inputs";
import { testRunPipeline } from "@/lib/scheduler/run";
import { clonePipeline, createPipeline, deletePipeline, updatePipeline, validatePipelineText } from "@/lib/pipelines/service";

export const validatePipelineAction = defineAction("read", pipelineTextInput, async ({ text }) => validatePipelineText(text), {
  audit: "pipeline.validate",
  readOnly: true,
});

/** Creates the pipeline, or replaces the text of `name` when given. */
export const savePipelineAction = defineAction(
  "write",
  pipelineTextInput.extend({ name: pipelineName.optional() }),
  async ({ text, name }, principal) => {
    const pipeline = name ? await updatePipeline(name, text, principal) : await createPipeline(text, principal);
    revalidatePath("/pipelines");
    return { name: pipeline.name };
  },
  { audit: "pipeline.save", target: (input) => input.name ?? null },
);

export const clonePipelineAction = defineAction(
  "write",
  z.object({ name: pipelineName, newName: pipelineName }),
  async ({ name, newName }, principal) => {
    const pipeline = await clonePipeline(name, newName, principal);
    revalidatePath("/pipelines");
    return { name: pipeline.name };
  },
  { audit: "pipeline.clone", target: (input) => `${input.name} → ${input.newName}` },
);

export const deletePipelineAction = defineAction(
  "admin",
  z.object({ name: pipelineName, force: z.boolean() }),
  async ({ name, force }, principal) => {
    await deletePipeline(name, { force }, principal);
    revalidatePath("/pipelines");
    return { name };
  },
  { reauth: true, audit: "pipeline.delete", target: (input) => input.name },
);

/** Runs the pipeline once now, outside any job (as POST /api/v1/pipelines/execute), and answers with its outcome and log. */
export const testRunPipelineAction = defineAction("write", z.object({ name: pipelineName }), ({ name }, principal) => testRunPipeline(name, principal), {
  audit: "pipeline.test_run",
  target: (input) => input.name,
});
