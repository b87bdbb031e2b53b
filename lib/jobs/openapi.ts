import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import { pageQuery } from "@/lib/pagination";
import { createJobInput, jobIdParams, jobNotificationParams, jobNotificationSettingsInput, listJobsQuery, updateJobInput } from "@/lib/jobs/inputs";
import type { JobNotificationSettingsDto } from "@/lib/notify/types";
import { jobDto } from "@/lib/jobs/types";
import { executionSummary } from "@/lib/executions/types";

const TAG = "Scheduler (Mimir AIP compatible)";
const jobMessage = z.object({ message: z.string(), job_id: z.string() });
/** Beside Mimir AIP's fields: what the caller should know though the request succeeded (a missing pipeline). */
const warnings = z.array(z.string()).describe("Problems that did not stop the request, e.g. a pipeline that does not exist yet; empty when none");
const jobCreated = jobMessage.extend({ warnings });
const jobMessageWithJob = jobMessage.extend({ job: jobDto });

const jobSettings = z.object({
  job_id: z.string(),
  failure_threshold: z.number(),
  consecutive_failures: z.number(),
}) satisfies z.ZodType<JobNotificationSettingsDto>;

/** The scheduler's routes (and a job's notification threshold), for the OpenAPI document. */
export const JOBS_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/scheduler/jobs",
    summary: "List scheduled jobs (bare array, Link-header paging)",
    tag: TAG,
    access: "read",
    query: listJobsQuery,
    responses: { 200: { description: "Jobs by name", schema: z.array(jobDto), linkPaging: true } },
  },
  {
    method: "post",
    path: "/api/v1/scheduler/jobs",
    summary: "Create a job; the scheduler fires it at once. A pipeline that does not exist is accepted, with a warning",
    tag: TAG,
    access: "write",
    body: createJobInput,
    responses: {
      201: { description: "Created", schema: jobCreated },
      403: { description: "The job's pipeline has a step beyond the caller's scope (insufficient_scope), or the job is built-in (builtin_admin_only)" },
      409: { description: "The id is taken" },
      422: { description: "The cron expression fires more often than scheduler.min_interval_seconds (cron_too_frequent)" },
    },
  },
  {
    method: "get",
    path: "/api/v1/scheduler/jobs/{id}",
    summary: "One job",
    tag: TAG,
    access: "read",
    params: jobIdParams,
    responses: { 200: { description: "The job", schema: jobDto }, 404: { description: "No such job" } },
  },
  {
    method: "put",
    path: "/api/v1/scheduler/jobs/{id}",
    summary: "Update any of name, pipeline, cron_expr, enabled",
    tag: TAG,
    access: "write",
    params: jobIdParams,
    body: updateJobInput,
    responses: {
      200: { description: "Updated", schema: jobMessageWithJob.extend({ warnings }) },
      403: { description: "The job's pipeline has a step beyond the caller's scope (insufficient_scope), or the job is built-in (builtin_admin_only)" },
      404: { description: "No such job" },
      422: { description: "The cron expression fires more often than scheduler.min_interval_seconds (cron_too_frequent)" },
    },
  },
  {
    method: "delete",
    path: "/api/v1/scheduler/jobs/{id}",
    summary: "Delete a job and its execution history",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: jobIdParams,
    responses: {
      200: { description: "Deleted", schema: jobMessage },
      403: { description: "A built-in job, below admin (builtin_admin_only)" },
      404: { description: "No such job" },
    },
  },
  {
    method: "post",
    path: "/api/v1/scheduler/jobs/{id}/enable",
    summary: "Enable a job",
    tag: TAG,
    access: "write",
    params: jobIdParams,
    responses: {
      200: { description: "Enabled", schema: jobMessageWithJob },
      403: { description: "The job's pipeline has a step beyond the caller's scope (insufficient_scope), or the job is built-in (builtin_admin_only)" },
    },
  },
  {
    method: "post",
    path: "/api/v1/scheduler/jobs/{id}/disable",
    summary: "Disable a job",
    tag: TAG,
    access: "write",
    params: jobIdParams,
    responses: {
      200: { description: "Disabled", schema: jobMessageWithJob },
      403: { description: "The job's pipeline has a step beyond the caller's scope (insufficient_scope), or the job is built-in (builtin_admin_only)" },
    },
  },
  {
    method: "get",
    path: "/api/v1/scheduler/jobs/{id}/logs",
    summary: "The job's runs, newest first (bare array, Link-header paging)",
    tag: TAG,
    access: "read",
    params: jobIdParams,
    query: pageQuery,
    responses: { 200: { description: "Runs", schema: z.array(executionSummary), linkPaging: true } },
  },
  {
    method: "post",
    path: "/api/v1/scheduler/jobs/{id}/run",
    summary: "Run a job now (skipped if it is already running)",
    tag: TAG,
    access: "write",
    params: jobIdParams,
    responses: {
      202: { description: "Started", schema: jobMessage.extend({ execution_id: z.string(), status: z.enum(["running", "skipped"]) }) },
      403: { description: "A step needs more than the caller, the job's owner or the pipeline's owner may do (insufficient_scope)" },
    },
  },
  {
    method: "get",
    path: "/api/v1/notifications/jobs/{jobId}",
    summary: "A job's failure threshold (failed runs in a row before job.failed; default 1) and its current run of failures",
    tag: "Notifications",
    access: "read",
    params: jobNotificationParams,
    responses: { 200: { description: "The job's settings", schema: jobSettings }, 404: { description: "No such job" } },
  },
  {
    method: "put",
    path: "/api/v1/notifications/jobs/{jobId}",
    summary: "Set a job's failure threshold",
    tag: "Notifications",
    access: "write",
    params: jobNotificationParams,
    body: jobNotificationSettingsInput,
    responses: { 200: { description: "The job's settings", schema: jobSettings }, 404: { description: "No such job" } },
  },
];
