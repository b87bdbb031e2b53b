import "server-only";
import crypto from "node:crypto";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { runAppWrite } from "@/lib/operations/write-gate";
import { findJobRow, recordJobRun } from "@/lib/jobs/service";
import { countRunForAlerts } from "@/lib/jobs/failure-alerts";
import { nextRunOf } from "@/lib/jobs/cron";
import { resolvePipeline } from "@/lib/pipelines/service";
import type { PipelineDefinition, PipelineStep } from "@/lib/pipelines/definition";
import { NS_PER_MS, recordExecutionProgress, recordExecutionStart } from "@/lib/executions/service";
import { openExecutionLog } from "@/lib/executions/log-files";
import type { StepRecord, Trigger } from "@/lib/executions/types";
import { BUILTIN_PLUGINS } from "@/lib/scheduler/builtin-plugins";
import { claimRun, releaseRun } from "@/lib/scheduler/active-runs";
import { PluginError, resolvePluginExecutable, runExecutablePlugin } from "@/lib/scheduler/executable-plugin";

/** A step without its own `timeout:` is killed after this long. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 600;
/** A step's output is kept in job_executions.steps up to this many characters (the whole of it is in the log). */
export const OUTPUT_SUMMARY_CHARS = 2000;

export interface RunStarted {
  execution_id: string;
  job_id: string;
  status: "running" | "skipped";
  /** settles when the run has finished (tests and the CLI wait on it; routes do not) */
  finished: Promise<void>;
}

/**
 * Starts a run of a job and returns once its execution row exists. One run per job at a time: a
 * second start while one runs is recorded as a `skipped` execution naming the run in progress.
 * The dispatch (the row insert) goes through the app write gate, so a backup sees it whole; the run's
 * steps do not hold the gate. Inserts one execution row; the run writes its log under logs/executions/.
 */
export async function startJobRun(jobId: string, trigger: Trigger): Promise<RunStarted> {
  const job = await findJobRow(jobId);
  if (!job) throw notFound("Job", jobId);
  const executionId = crypto.randomUUID();
  const startTime = nowIso();
  const controller = claimRun(jobId, executionId);
  if (!controller) {
    await runAppWrite(() =>
      recordExecutionStart({
        id: executionId,
        jobId,
        pipeline: job.pipeline,
        startTime,
        endTime: startTime,
        duration: 0,
        status: "skipped",
        error: "The previous run of this job was still in progress",
        triggeredBy: trigger,
        steps: "[]",
      }),
    );
    return { execution_id: executionId, job_id: jobId, status: "skipped", finished: Promise.resolve() };
  }
  try {
    await runAppWrite(() =>
      recordExecutionStart({ id: executionId, jobId, pipeline: job.pipeline.replace(/\.ya?ml$/i, ""), startTime, status: "running", triggeredBy: trigger, steps: "[]" }),
    );
  } catch (error) {
    releaseRun(jobId, executionId);
    throw error;
  }
  const finished = executeRun({ executionId, jobId, pipelineRef: job.pipeline, startTime, trigger, signal: controller.signal })
    .catch((error: unknown) => {
      getLogger().error("run bookkeeping failed", { executionId, jobId, error });
    })
    .finally(() => releaseRun(jobId, executionId));
  return { execution_id: executionId, job_id: jobId, status: "running", finished };
}

interface RunSpec {
  executionId: string;
  /** null for an ad-hoc run of a pipeline (POST /pipelines/execute) */
  jobId: string | null;
  pipelineRef: string;
  startTime: string;
  trigger: Trigger;
  signal: AbortSignal;
}

interface PipelineOutcome {
  status: "success" | "failed" | "cancelled" | "skipped";
  error: string | null;
  steps: StepRecord[];
  context: Record<string, unknown>;
}

/**
 * Resolves the pipeline and runs its steps in order into the run's log, stopping at the first failed
 * step; `onStep` sees the steps so far after each one (to persist progress).
 */
async function runPipeline(spec: RunSpec, log: NodeJS.WritableStream, initialContext: Record<string, unknown>, onStep: (steps: StepRecord[]) => Promise<void>): Promise<PipelineOutcome> {
  const logLine = (line: string) => log.write(`${nowIso()} ${line}\n`);
  const steps: StepRecord[] = [];
  const context: Record<string, unknown> = { ...initialContext, ...(spec.jobId ? { job_id: spec.jobId } : {}), execution_id: spec.executionId, triggered_by: spec.trigger };
  let status: PipelineOutcome["status"] = "success";
  let error: string | null = null;
  try {
    logLine(`run ${spec.executionId}${spec.jobId ? ` of job ${spec.jobId}` : ""} (${spec.trigger}), pipeline ${spec.pipelineRef}`);
    let pipeline: PipelineDefinition | null;
    try {
      pipeline = await resolvePipeline(spec.pipelineRef);
    } catch (resolveError) {
      throw new AppError("invalid_pipeline", `Pipeline '${spec.pipelineRef}' is not valid: ${(resolveError as Error).message}`);
    }
    if (!pipeline) throw new AppError("not_found", `Pipeline '${spec.pipelineRef}' does not exist: no stored pipeline and no file of that name in the pipelines volume`);
    context.pipeline = pipeline.name;
    if (pipeline.enabled === false) {
      status = "skipped";
      error = `Pipeline '${pipeline.name}' is disabled (enabled: false)`;
    } else {
      for (const step of pipeline.steps) {
        if (spec.signal.aborted) break;
        const record = await runStep(step, pipeline.name, spec, context, logLine, log);
        steps.push(record);
        await onStep(steps);
        if (record.status !== "success") {
          error = `Step '${step.name}' (${step.plugin}) failed: ${record.error}`;
          status = "failed";
          break;
        }
      }
    }
    if (spec.signal.aborted) {
      status = "cancelled";
      error = abortReason(spec.signal);
    }
  } catch (runError) {
    status = spec.signal.aborted ? "cancelled" : "failed";
    error = spec.signal.aborted ? abortReason(spec.signal) : (runError as Error).message;
  }
  logLine(`run ${status}${error ? `: ${error}` : ""}`);
  return { status, error, steps, context };
}

async function executeRun(spec: RunSpec): Promise<void> {
  const log = openExecutionLog(spec.executionId);
  const { status, error, steps, context } = await runPipeline(spec, log, {}, (steps) => recordExecutionProgress(spec.executionId, { steps: JSON.stringify(steps) }));
  const endTime = nowIso();
  await new Promise<void>((resolve) => log.end(resolve));
  await recordExecutionProgress(spec.executionId, {
    status,
    error,
    endTime,
    duration: (Date.parse(endTime) - Date.parse(spec.startTime)) * NS_PER_MS,
    context: JSON.stringify(context),
    steps: JSON.stringify(steps),
  });
  const job = spec.jobId ? await findJobRow(spec.jobId) : null;
  if (job) {
    await recordJobRun(job.id, {
      lastRun: spec.startTime,
      lastResult: { success: status === "success", ...(error ? { error } : {}), executed_at: endTime, status, execution_id: spec.executionId },
      nextRun: job.enabled ? nextRunOf(job.cronExpr) : null,
    });
    await countRunForAlerts(job, { executionId: spec.executionId, status, error });
  }
}

async function runStep(
  step: PipelineStep,
  pipelineName: string,
  spec: RunSpec,
  context: Record<string, unknown>,
  logLine: (line: string) => void,
  log: NodeJS.WritableStream,
): Promise<StepRecord> {
  const started = nowIso();
  const timeoutSeconds = step.timeout ?? DEFAULT_STEP_TIMEOUT_SECONDS;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`timed out after ${timeoutSeconds} s (step timeout)`)), timeoutSeconds * 1000);
  const signal = AbortSignal.any([spec.signal, timeout.signal]);
  logLine(`step ${step.name}: ${step.plugin} started`);
  let output: Record<string, unknown> | null = null;
  let stepError: string | null = null;
  try {
    output = step.plugin.startsWith("System.") ? await runBuiltin(step, pipelineName, spec, signal, logLine) : await runExecutable(step, pipelineName, spec, context, signal, log);
    if (step.output) context[step.output] = output;
  } catch (error) {
    stepError = signal.aborted ? abortReason(signal) : (error as Error).message;
  } finally {
    clearTimeout(timer);
  }
  const ended = nowIso();
  logLine(`step ${step.name}: ${stepError ? `failed: ${stepError}` : "succeeded"}`);
  const summary = output === null ? null : JSON.stringify(output);
  return {
    step_name: step.name,
    plugin: step.plugin,
    start_time: started,
    end_time: ended,
    duration: (Date.parse(ended) - Date.parse(started)) * NS_PER_MS,
    status: stepError ? (spec.signal.aborted ? "cancelled" : "failed") : "success",
    error: stepError,
    output: summary && summary.length > OUTPUT_SUMMARY_CHARS ? `${summary.slice(0, OUTPUT_SUMMARY_CHARS)}…` : summary,
  };
}

async function runBuiltin(step: PipelineStep, pipelineName: string, spec: RunSpec, signal: AbortSignal, logLine: (line: string) => void) {
  const plugin = BUILTIN_PLUGINS[step.plugin];
  if (!plugin) throw new PluginError(`plugin '${step.plugin}' is not a built-in; known: ${Object.keys(BUILTIN_PLUGINS).sort().join(", ") || "none"}`);
  const config = plugin.configSchema.safeParse(step.config ?? {});
  if (!config.success) throw new PluginError(`config of ${step.plugin} is not valid: ${config.error.issues.map((issue) => `${issue.path.join(".") || "config"}: ${issue.message}`).join("; ")}`);
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error(abortReason(signal)));
    signal.addEventListener("abort", () => reject(new Error(abortReason(signal))), { once: true });
  });
  // Whichever settles first wins; a late abort must not surface as an unhandled rejection.
  aborted.catch(() => undefined);
  return Promise.race([
    plugin.run(config.data, { executionId: spec.executionId, jobId: spec.jobId ?? "", pipeline: pipelineName, stepName: step.name, signal, log: (line) => logLine(`  ${step.name}: ${line}`) }),
    aborted,
  ]);
}

async function runExecutable(step: PipelineStep, pipelineName: string, spec: RunSpec, context: Record<string, unknown>, signal: AbortSignal, log: NodeJS.WritableStream) {
  const file = resolvePluginExecutable(step.plugin);
  return runExecutablePlugin({
    file,
    input: { config: step.config ?? {}, context, step: { name: step.name, plugin: step.plugin, output: step.output ?? null } },
    env: { MIMIR_EXECUTION_ID: spec.executionId, MIMIR_JOB_ID: spec.jobId ?? "", MIMIR_PIPELINE: pipelineName, MIMIR_STEP: step.name },
    signal,
    onOutput: (_stream, chunk) => log.write(chunk),
  });
}

function abortReason(signal: AbortSignal): string {
  const reason = signal.reason as unknown;
  return reason instanceof Error ? reason.message : "cancelled";
}

export interface AdHocRunResult {
  execution_id: string;
  success: boolean;
  status: PipelineOutcome["status"];
  error: string | null;
  context: Record<string, unknown>;
  steps: StepRecord[];
}

/**
 * Runs a pipeline once, outside any job, and answers when it has finished (Mimir AIP's
 * POST /pipelines/execute). Each step is still bounded by its timeout. job_executions rows belong to jobs, so this run is not in the history;
 * its log is written under logs/executions/<execution_id>.log like any other.
 */
export async function executePipelineNow(pipelineRef: string, initialContext: Record<string, unknown>): Promise<AdHocRunResult> {
  // Asked for by name, a pipeline that is not there (or not valid) is the caller's error, not a failed run.
  if (!(await resolvePipeline(pipelineRef))) throw notFound("Pipeline", pipelineRef);
  const executionId = crypto.randomUUID();
  const log = openExecutionLog(executionId);
  const outcome = await runPipeline(
    { executionId, jobId: null, pipelineRef, startTime: nowIso(), trigger: "api", signal: new AbortController().signal },
    log,
    initialContext,
    async () => undefined,
  );
  await new Promise<void>((resolve) => log.end(resolve));
  return { execution_id: executionId, success: outcome.status === "success", ...outcome };
}
