import "server-only";
import YAML from "yaml";
import { AppError } from "@/lib/errors";
import { MAX_PIPELINE_TEXT_BYTES, mimirPipelineBody } from "@/lib/pipelines/definition";
import { jsonNestingExceeds, MAX_NESTING_DEPTH } from "@/lib/nesting";

/**
 * Turns a request body into pipeline text: raw YAML (application/yaml, text/*), a JSON pipeline, or
 * Mimir AIP's `{"metadata": {…}, "config": {…}}` body (stored as YAML).
 */
export function pipelineTextFromBody(body: { contentType: string; text: string }): string {
  if (Buffer.byteLength(body.text) > MAX_PIPELINE_TEXT_BYTES) {
    throw new AppError("body_too_large", `A pipeline text is at most ${MAX_PIPELINE_TEXT_BYTES} bytes`);
  }
  const type = body.contentType.toLowerCase();
  if (!type.includes("json")) return body.text;
  // Turned into YAML below by recursive code: refuse deep nesting before it is built.
  if (jsonNestingExceeds(body.text) !== null) throw new AppError("invalid_json", `The JSON body nests more than ${MAX_NESTING_DEPTH} levels deep`);
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch (error) {
    throw new AppError("invalid_json", `The request body is not valid JSON: ${(error as Error).message}`);
  }
  const mimir = mimirPipelineBody.safeParse(value);
  if (mimir.success) {
    const { metadata, config } = mimir.data;
    // name and description first, as a person would write the file
    value = {
      name: metadata.name ?? config.name,
      ...(metadata.description !== undefined || config.description !== undefined ? { description: metadata.description ?? config.description } : {}),
      ...(metadata.enabled !== undefined ? { enabled: metadata.enabled } : {}),
      ...Object.fromEntries(Object.entries(config).filter(([key]) => key !== "name" && key !== "description")),
    };
  }
  return YAML.stringify(value);
}
