import { expect, test } from "vitest";
import { MAX_PIPELINE_TEXT_BYTES } from "@/lib/pipelines/definition";
import { pipelineTextFromBody } from "@/lib/pipelines/body";
import { validateStoredOrGivenPipeline } from "@/lib/pipelines/service";

// POST /api/v1/pipelines, PUT /api/v1/pipelines/{id} and POST …/validate all read their body here.
test("a pipeline body over the cap is refused with 413 before it is parsed", async () => {
  const big = `name: big\ndescription: ${"x".repeat(MAX_PIPELINE_TEXT_BYTES)}\nsteps: []\n`;
  expect(() => pipelineTextFromBody({ contentType: "application/yaml", text: big })).toThrow(expect.objectContaining({ code: "body_too_large", status: 413 }));
  await expect(validateStoredOrGivenPipeline("any", { contentType: "application/yaml", text: big })).rejects.toMatchObject({ status: 413 });
});

test("a deeply nested JSON pipeline body is refused with 400, not turned into YAML", () => {
  const deep = `{"name": "deep", "steps": ${"[".repeat(20_000)}${"]".repeat(20_000)}}`;
  expect(() => pipelineTextFromBody({ contentType: "application/json", text: deep })).toThrow(expect.objectContaining({ code: "invalid_json", status: 400 }));
});

test("nested YAML sent for validation is a problem of the text, found at once", async () => {
  const deep = `name: deep\nsteps: ${"[".repeat(30_000)}${"]".repeat(30_000)}\n`;
  const result = await validateStoredOrGivenPipeline("any", { contentType: "application/yaml", text: deep });
  expect(result).toEqual({ valid: false, errors: [expect.objectContaining({ message: expect.stringContaining("levels deep") })] });
});
