import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import { executionIdParams, historyFilters, listExecutionsQuery, logQuery, recentQuery, statisticsQuery } from "@/lib/executions/inputs";
import { executionDto, executionLog, executionStatistics, executionSummary } from "@/lib/executions/types";

const TAG = "Execution history (Mimir AIP compatible)";

/** The history's routes, for the OpenAPI document. */
export const EXECUTIONS_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/jobs",
    summary: "Execution history, newest first, filtered; bare array with Link-header paging",
    tag: TAG,
    access: "read",
    query: listExecutionsQuery,
    responses: { 200: { description: "Runs", schema: z.array(executionSummary), linkPaging: true } },
  },
  {
    method: "get",
    path: "/api/v1/jobs/{id}",
    summary: "One run with its steps and context",
    tag: TAG,
    access: "read",
    params: executionIdParams,
    responses: { 200: { description: "The run", schema: executionDto }, 404: { description: "No such run" } },
  },
  {
    method: "get",
    path: "/api/v1/jobs/running",
    summary: "Runs in progress",
    tag: TAG,
    access: "read",
    responses: { 200: { description: "Runs", schema: z.array(executionSummary) } },
  },
  {
    method: "get",
    path: "/api/v1/jobs/recent",
    summary: "The latest runs",
    tag: TAG,
    access: "read",
    query: recentQuery,
    responses: { 200: { description: "Runs", schema: z.array(executionSummary) } },
  },
  {
    method: "get",
    path: "/api/v1/jobs/statistics",
    summary: "Totals, runs per day by status, duration p50/p95 per day (30 days by default)",
    tag: TAG,
    access: "read",
    query: statisticsQuery,
    responses: { 200: { description: "Statistics", schema: executionStatistics } },
  },
  {
    method: "get",
    path: "/api/v1/jobs/export",
    summary: "The filtered history as CSV (streamed)",
    tag: TAG,
    access: "admin",
    query: historyFilters,
    responses: { 200: { description: "CSV", contentType: "text/csv" } },
  },
  {
    method: "post",
    path: "/api/v1/jobs/{id}/stop",
    summary: "Stop a running run (its plugin process group is killed)",
    tag: TAG,
    access: "write",
    params: executionIdParams,
    responses: {
      202: { description: "Stop requested", schema: z.object({ message: z.string(), execution_id: z.string(), status: z.string() }) },
      409: { description: "Not running" },
    },
  },
  {
    method: "get",
    path: "/api/v1/logs/executions/{id}",
    summary: "A chunk of a run's log from offset; follow with next_offset",
    tag: TAG,
    access: "read",
    params: executionIdParams,
    query: logQuery,
    responses: { 200: { description: "Log chunk", schema: executionLog } },
  },
];
