import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import { pageQuery } from "@/lib/pagination";
import { clonePipelineInput, deletePipelineQuery, executePipelineInput, listPipelinesQuery, pipelineIdParams } from "@/lib/pipelines/inputs";
import { mimirPipelineBody, pipelineDefinition } from "@/lib/pipelines/definition";
import { pipelineDto, pipelineSummary, validationResult } from "@/lib/pipelines/types";
import { executionSummary, stepRecord } from "@/lib/executions/types";

const TAG = "Pipelines (Mimir AIP compatible)";
const YAML_OR_JSON = ["application/yaml", "application/json"];
const pipelineBody = z.union([pipelineDefinition, mimirPipelineBody]);
const created = z.object({ message: z.string(), pipeline: pipelineDto });

/** The pipelines' routes, for the OpenAPI document. */
export const PIPELINES_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/pipelines",
    summary: "List pipelines (bare array, Link-header paging)",
    tag: TAG,
    access: "read",
    query: listPipelinesQuery,
    responses: { 200: { description: "Pipelines by name", schema: z.array(pipelineSummary), linkPaging: true } },
  },
  {
    method: "post",
    path: "/api/v1/pipelines",
    summary: "Create a pipeline from YAML, a JSON pipeline, or Mimir's {metadata, config} body; writes <name>.yaml",
    tag: TAG,
    access: "write",
    body: pipelineBody,
    bodyContentTypes: YAML_OR_JSON,
    responses: {
      201: { description: "Created", schema: created },
      403: {
        description: "A step needs a higher scope than the caller's (insufficient_scope, details.steps), or the name is a built-in's (builtin_admin_only)",
      },
      409: { description: "The name is taken" },
    },
  },
  {
    method: "get",
    path: "/api/v1/pipelines/{id}",
    summary: "One pipeline (by name or file name)",
    tag: TAG,
    access: "read",
    params: pipelineIdParams,
    responses: {
      200: {
        description: "The pipeline; below write scope its steps' secrets (URL path and query, header values, password/token/secret/key values) read ********",
        schema: pipelineDto,
      },
      404: { description: "No such pipeline" },
    },
  },
  {
    method: "put",
    path: "/api/v1/pipelines/{id}",
    summary: "Replace a pipeline's definition (rewrites the file atomically)",
    tag: TAG,
    access: "write",
    params: pipelineIdParams,
    body: pipelineBody,
    bodyContentTypes: YAML_OR_JSON,
    responses: {
      200: { description: "Updated; secrets sent back as ******** keep their stored values", schema: created },
      403: {
        description: "A step needs a higher scope than the caller's (insufficient_scope, details.steps), or the pipeline is built-in (builtin_admin_only)",
      },
    },
  },
  {
    method: "delete",
    path: "/api/v1/pipelines/{id}",
    summary: "Delete a pipeline and its file; refused while a job uses it unless force=true",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: pipelineIdParams,
    query: deletePipelineQuery,
    responses: {
      200: { description: "Deleted", schema: z.object({ message: z.string(), pipeline: z.string() }) },
      403: { description: "A built-in pipeline (builtin_admin_only)" },
      409: { description: "In use by jobs (code in_use, details.jobs)" },
    },
  },
  {
    method: "post",
    path: "/api/v1/pipelines/{id}/validate",
    summary: "Validate the stored pipeline, or the text sent in the body; every problem with line and column",
    tag: TAG,
    access: "write",
    params: pipelineIdParams,
    body: pipelineBody,
    bodyOptional: true,
    bodyContentTypes: YAML_OR_JSON,
    responses: { 200: { description: "The result", schema: validationResult } },
  },
  {
    method: "get",
    path: "/api/v1/pipelines/{id}/validate",
    summary: "Validate the stored pipeline",
    tag: TAG,
    access: "read",
    params: pipelineIdParams,
    responses: { 200: { description: "The result", schema: validationResult } },
  },
  {
    method: "post",
    path: "/api/v1/pipelines/{id}/clone",
    summary: "Copy a pipeline under a new name",
    tag: TAG,
    access: "write",
    params: pipelineIdParams,
    body: clonePipelineInput,
    responses: { 201: { description: "Created", schema: created }, 403: { description: "A step needs a higher scope than the caller's (insufficient_scope)" } },
  },
  {
    method: "get",
    path: "/api/v1/pipelines/{id}/history",
    summary: "The pipeline's runs (bare array, Link-header paging)",
    tag: TAG,
    access: "read",
    params: pipelineIdParams,
    query: pageQuery,
    responses: { 200: { description: "Runs", schema: z.array(executionSummary), linkPaging: true } },
  },
  {
    method: "post",
    path: "/api/v1/pipelines/execute",
    summary: "Run a pipeline once outside any job and wait for the result (not recorded in job history; log under logs/executions/)",
    tag: TAG,
    access: "write",
    body: executePipelineInput,
    responses: {
      200: {
        description: "The finished run",
        schema: z.object({
          execution_id: z.string(),
          success: z.boolean(),
          status: z.string(),
          error: z.string().nullable(),
          context: z.record(z.string(), z.unknown()),
          steps: z.array(stepRecord),
        }),
      },
      403: { description: "A step needs a higher scope than the caller or the pipeline's owner has (insufficient_scope, details.steps)" },
      404: { description: "No such pipeline" },
      429: { description: "scheduler.max_concurrent_adhoc_runs ad-hoc runs are already in progress (too_many_runs)" },
    },
  },
];
