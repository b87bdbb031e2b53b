import "server-only";
import { processState } from "@/lib/process-state";
import crypto from "node:crypto";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { runAppWrite } from "@/lib/operations/write-gate";
import { findJobRow, recordJobRun } from "@/lib/jobs/service";
import { countRunForAlerts } from "@/lib/jobs/failure-alerts";
import { nextRunOf } from "@/lib/jobs/cron";
import { resolvePipeline, resolvePipelineForRun } from "@/lib/pipelines/resolve";
import type { PipelineDefinition, PipelineStep } from "@/lib/pipelines/definition";
import { scrubSecrets, secretValuesOf } from "@/lib/pipelines/secrets";
import type { Principal, Scope } from "@/lib/auth/scopes";
import { getConfig } from "@/lib/config/service";
import { assertStepsAllowed, describePrincipal, lowestScope, ownerScope } from "@/lib/plugins/access";
import { recordExecutionStart, recordOwnedExecutionProgress } from "@/lib/executions/service";
import { NS_PER_MS } from "@/lib/time";
import { openExecutionLog, readExecutionLogChunk } from "@/lib/executions/log-files";
import { outputSummary, type StepRecord, type Trigger } from "@/lib/executions/types";
import { builtinPluginNames, findBuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import { releaseRun, trackRun } from "@/lib/scheduler/active-runs";
import { currentInstanceId } from "@/lib/instances/service";
import { isUniqueViolation } from "@/lib/db/dialect";
import { findSchedulerPause, pausedByOperation } from "@/lib/operations/service";
import { PluginError, resolvePluginExecutable, runExecutablePlugin } from "@/lib/scheduler/executable-plugin";
import { plainIssueMessage } from "@/lib/issue-text";

/** A step without its own `timeout:` is killed after this long. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 600;

export interface RunStarted {
  execution_id: string;
  job_id: string;
  status: "running" | "skipped";
  /** settles when the run has finished (tests and the CLI wait on it; routes do not) */
  finished: Promise<void>;
}

/** One party a run acts for, and the scope it grants: the run may do what the lowest of them may. */
interface RunLimit {
  scope: Scope;
  /** names the party in a refusal: "token 'ci'", "job 'nightly' (saved by token:ci)" */
  who: string;
}

function lowestLimit(limits: RunLimit[]): RunLimit {
  const scope = lowestScope(...limits.map((limit) => limit.scope));
  return limits.find((limit) => limit.scope === scope) ?? { scope, who: "this run" };
}

function callerLimit(caller: Principal | null): RunLimit[] {
  return caller ? [{ scope: caller.scope, who: describePrincipal(caller) }] : [];
}

/**
 * Throws 403 insufficient_scope when the pipeline `ref` names has steps beyond what `limits` and the
 * pipeline's own owner allow together. A pipeline that is missing or invalid is left to the run to
 * report. Reads only.
 */
async function assertRunAllowed(ref: string, limits: RunLimit[]): Promise<void> {
  const pipeline = await resolvePipelineForRun(ref).catch(() => null);
  if (!pipeline) return;
  const limit = lowestLimit([
    ...limits,
    { scope: pipeline.ownerScope, who: `pipeline '${pipeline.definition.name}' (last saved by ${pipeline.owner ?? "the console"})` },
  ]);
  assertStepsAllowed(pipeline.definition, limit.scope, limit.who);
}

/**
 * Runs one scheduled fire of a job, on the one instance whose claim of (job, slot) succeeds; every
 * other instance gets null and does nothing. The claim (a job_fires row) and the run's execution row
 * are inserted in one transaction, so no kill leaves a claimed slot without its run.
 */
export async function fireJobSlot(jobId: string, slot: Date): Promise<RunStarted | null> {
  return startRun(jobId, "scheduler", null, crypto.randomUUID(), slot.toISOString());
}

/**
 * Starts a run of a job and returns once its execution row exists. One run per job at a time, across
 * every instance (a unique index on the running rows): a second start while one runs is recorded as a
 * `skipped` execution. The run may do only what the job's owner, its pipeline's owner and `caller` (who
 * asked for this run; null for the scheduler) may all do: a caller who may not is refused at once
 * (403), and every run checks again when it starts its steps. The dispatch (the row insert) goes
 * through the app write gate, so a backup sees it whole; the run's steps do not hold the gate. Inserts
 * one execution row owned by this instance; the run writes its log under logs/executions/.
 */
export async function startJobRun(
  jobId: string,
  trigger: Trigger,
  caller: Principal | null = null,
  executionId: string = crypto.randomUUID(),
): Promise<RunStarted> {
  return (await startRun(jobId, trigger, caller, executionId, null))!;
}

/** startJobRun, or with `scheduledFor` one scheduled fire: null when another instance claimed that slot. */
async function startRun(
  jobId: string,
  trigger: Trigger,
  caller: Principal | null,
  executionId: string,
  scheduledFor: string | null,
): Promise<RunStarted | null> {
  const job = await findJobRow(jobId);
  if (!job) throw notFound("Job", jobId);
  const limits = [{ scope: ownerScope(job.ownerScope), who: `job '${job.id}' (saved by ${job.owner ?? "the console"})` }, ...callerLimit(caller)];
  if (caller) await assertRunAllowed(job.pipeline, limits);
  const startTime = nowIso();
  const owner = currentInstanceId();
  // A restore, reset or move to PostgreSQL anywhere holds every instance's jobs back (checked in the
  // start's own transaction): a fire is let go (the job's next slot fires as usual), a run asked for is
  // refused naming the operation. A scheduled fire also claims its slot: of several instances, one runs it.
  const insertStart = async (row: Parameters<typeof recordExecutionStart>[0]): Promise<boolean> => {
    const refusal = await runAppWrite(() => recordExecutionStart(row, scheduledFor));
    if (refusal === "paused") {
      const pause = await findSchedulerPause();
      if (scheduledFor === null) {
        throw pause ? pausedByOperation(pause) : new AppError("operation_running", "A restore or reset was running when the run was asked for; try again");
      }
      getLogger().info("scheduled fire skipped: an exclusive operation is running", { jobId, slot: scheduledFor, ...pause });
    }
    return refusal === null;
  };
  try {
    const started = await insertStart({
      id: executionId,
      jobId,
      pipeline: job.pipeline.replace(/\.ya?ml$/i, ""),
      startTime,
      status: "running",
      triggeredBy: trigger,
      steps: "[]",
      ownerInstance: owner,
    });
    if (!started) return null;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const recorded = await insertStart({
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
      ownerInstance: owner,
    });
    if (!recorded) return null;
    return { execution_id: executionId, job_id: jobId, status: "skipped", finished: Promise.resolve() };
  }
  const controller = trackRun(jobId, executionId);
  const finished = executeRun({ executionId, jobId, pipelineRef: job.pipeline, startTime, trigger, signal: controller.signal, limits }, owner, controller)
    .catch((error: unknown) => {
      getLogger().error("run bookkeeping failed", { executionId, jobId, error });
    })
    .finally(() => releaseRun(executionId));
  return { execution_id: executionId, job_id: jobId, status: "running", finished };
}

/** Why a run stops when its row was taken from this instance (another declared it dead while it was paused or cut off). */
const NO_LONGER_OWNED = "This instance no longer owns the run: another instance declared it stopped and failed the run";

interface RunSpec {
  executionId: string;
  /** null for an ad-hoc run of a pipeline (POST /pipelines/execute) */
  jobId: string | null;
  pipelineRef: string;
  startTime: string;
  trigger: Trigger;
  signal: AbortSignal;
  /** whom the run acts for (see startJobRun) */
  limits: RunLimit[];
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
async function runPipeline(
  spec: RunSpec,
  rawLog: NodeJS.WritableStream,
  initialContext: Record<string, unknown>,
  onStep: (steps: StepRecord[]) => Promise<void>,
): Promise<PipelineOutcome> {
  // The steps' secrets (webhook URLs, tokens in config) are kept out of everything the run records,
  // which read scope can see: the log, each step's output and error, and the context.
  const secrets: string[] = [];
  const scrub = (text: string) => (secrets.length === 0 ? text : scrubSecrets(text, secrets));
  const log = scrubbingLog(rawLog, scrub);
  const logLine = (line: string) => log.write(`${nowIso()} ${line}\n`);
  const steps: StepRecord[] = [];
  const context: Record<string, unknown> = {
    ...initialContext,
    ...(spec.jobId ? { job_id: spec.jobId } : {}),
    execution_id: spec.executionId,
    triggered_by: spec.trigger,
  };
  let status: PipelineOutcome["status"] = "success";
  let error: string | null = null;
  try {
    logLine(`run ${spec.executionId}${spec.jobId ? ` of job ${spec.jobId}` : ""} (${spec.trigger}), pipeline ${spec.pipelineRef}`);
    let resolved: Awaited<ReturnType<typeof resolvePipelineForRun>>;
    try {
      resolved = await resolvePipelineForRun(spec.pipelineRef);
    } catch (resolveError) {
      throw new AppError("invalid_pipeline", `Pipeline '${spec.pipelineRef}' is not valid: ${(resolveError as Error).message}`);
    }
    if (!resolved)
      throw new AppError("not_found", `Pipeline '${spec.pipelineRef}' does not exist: no stored pipeline and no file of that name in the pipelines volume`);
    const pipeline: PipelineDefinition = resolved.definition;
    // Checked again here, whoever started the run: the pipeline or its owner may have changed since the job was saved.
    const limit = lowestLimit([
      ...spec.limits,
      { scope: resolved.ownerScope, who: `pipeline '${pipeline.name}' (last saved by ${resolved.owner ?? "the console"})` },
    ]);
    assertStepsAllowed(pipeline, limit.scope, limit.who);
    secrets.push(...secretValuesOf(pipeline));
    context.pipeline = pipeline.name;
    if (pipeline.enabled === false) {
      status = "skipped";
      error = `Pipeline '${pipeline.name}' is disabled (enabled: false)`;
    } else {
      for (const step of pipeline.steps) {
        if (spec.signal.aborted) break;
        const record = scrubRecord(await runStep(step, pipeline.name, spec, context, logLine, log), scrub);
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
  return {
    status,
    error: error === null ? null : scrub(error),
    steps,
    context: secrets.length === 0 ? context : (JSON.parse(scrub(JSON.stringify(context))) as Record<string, unknown>),
  };
}

function scrubRecord(record: StepRecord, scrub: (text: string) => string): StepRecord {
  return { ...record, error: record.error ? scrub(record.error) : record.error, output: record.output ? scrub(record.output) : record.output };
}

/** A view of the run's log that scrubs each write; a plugin's output arrives in pipe-sized chunks, each scrubbed as it comes. */
function scrubbingLog(log: NodeJS.WritableStream, scrub: (text: string) => string): NodeJS.WritableStream {
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === "write") {
        return (chunk: string | Uint8Array, ...rest: unknown[]) =>
          (target.write as (chunk: string, ...args: unknown[]) => boolean)(
            scrub(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")),
            ...rest,
          );
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function executeRun(spec: RunSpec, owner: string, controller: AbortController): Promise<void> {
  const log = openExecutionLog(spec.executionId);
  const refused = (what: string) => {
    // A zombie's late write: the run was failed by the instance that found this one dead, and that record stands.
    getLogger().warn(`refused a late ${what} of a run this instance no longer owns`, { executionId: spec.executionId, jobId: spec.jobId, instance: owner });
    controller.abort(new Error(NO_LONGER_OWNED));
  };
  const { status, error, steps, context } = await runPipeline(spec, log, {}, async (steps) => {
    if (!(await recordOwnedExecutionProgress(spec.executionId, owner, { steps: JSON.stringify(steps) }))) refused("progress write");
  });
  const endTime = nowIso();
  await new Promise<void>((resolve) => log.end(resolve));
  const landed = await recordOwnedExecutionProgress(spec.executionId, owner, {
    status,
    error,
    endTime,
    duration: (Date.parse(endTime) - Date.parse(spec.startTime)) * NS_PER_MS,
    context: JSON.stringify(context),
    steps: JSON.stringify(steps),
  });
  if (!landed) return refused("completion");
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
    output = step.plugin.startsWith("System.")
      ? await runBuiltin(step, pipelineName, spec, signal, logLine)
      : await runExecutable(step, pipelineName, spec, context, signal, log);
    if (step.output) context[step.output] = output;
  } catch (error) {
    stepError = signal.aborted ? abortReason(signal) : (error as Error).message;
  } finally {
    clearTimeout(timer);
  }
  const ended = nowIso();
  // The log says what the step record says: a stopped run's step was cancelled, not failed (B13).
  logLine(`step ${step.name}: ${stepError ? `${spec.signal.aborted ? "cancelled" : "failed"}: ${stepError}` : "succeeded"}`);
  return {
    step_name: step.name,
    plugin: step.plugin,
    start_time: started,
    end_time: ended,
    duration: (Date.parse(ended) - Date.parse(started)) * NS_PER_MS,
    status: stepError ? (spec.signal.aborted ? "cancelled" : "failed") : "success",
    error: stepError,
    output: outputSummary(output),
  };
}

async function runBuiltin(step: PipelineStep, pipelineName: string, spec: RunSpec, signal: AbortSignal, logLine: (line: string) => void) {
  const plugin = findBuiltinPlugin(step.plugin);
  if (!plugin) throw new PluginError(`plugin '${step.plugin}' is not a built-in; known: ${builtinPluginNames().join(", ") || "none"}`);
  const config = plugin.configSchema.safeParse(step.config ?? {});
  // The step error is what an operator reads on the run's page: in plain words, not zod's.
  if (!config.success)
    throw new PluginError(
      `config of ${step.plugin} is not valid: ${config.error.issues.map((issue) => `${issue.path.join(".") || "config"}: ${plainIssueMessage(issue)}`).join("; ")}`,
    );
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error(abortReason(signal)));
    signal.addEventListener("abort", () => reject(new Error(abortReason(signal))), { once: true });
  });
  // Whichever settles first wins; a late abort must not surface as an unhandled rejection.
  aborted.catch(() => undefined);
  return Promise.race([
    plugin.run(config.data, {
      executionId: spec.executionId,
      jobId: spec.jobId ?? "",
      pipeline: pipelineName,
      stepName: step.name,
      signal,
      log: (line) => logLine(`  ${step.name}: ${line}`),
    }),
    aborted,
  ]);
}

async function runExecutable(
  step: PipelineStep,
  pipelineName: string,
  spec: RunSpec,
  context: Record<string, unknown>,
  signal: AbortSignal,
  log: NodeJS.WritableStream,
) {
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

// Per process: each instance bounds its own work; a run holds this process's CPU, memory and sockets.
const adhocRuns = () => processState("adhocRuns", () => ({ running: 0 }));

/**
 * Runs a pipeline once, outside any job, and answers when it has finished (Mimir AIP's
 * POST /pipelines/execute). Each step is still bounded by its timeout. The run may do only what
 * `caller` and the pipeline's owner may both do (403 insufficient_scope otherwise), and at most
 * scheduler.max_concurrent_adhoc_runs such runs go on at once (429 too_many_runs). job_executions rows
 * belong to jobs, so this run is not in the history; its log is written under
 * logs/executions/<execution_id>.log like any other.
 */
export async function executePipelineNow(
  pipelineRef: string,
  initialContext: Record<string, unknown>,
  caller: Principal | null = null,
): Promise<AdHocRunResult> {
  // Asked for by name, a pipeline that is not there (or not valid) is the caller's error, not a failed run.
  if (!(await resolvePipeline(pipelineRef))) throw notFound("Pipeline", pipelineRef);
  const limits = callerLimit(caller);
  await assertRunAllowed(pipelineRef, limits);
  const pause = await findSchedulerPause();
  if (pause) throw pausedByOperation(pause);
  const max = getConfig().values.scheduler.max_concurrent_adhoc_runs;
  const runs = adhocRuns();
  if (runs.running >= max) {
    throw new AppError(
      "too_many_runs",
      `${runs.running} ad-hoc pipeline runs are already in progress, the most allowed at once (scheduler.max_concurrent_adhoc_runs = ${max}); try again when one has finished, or schedule the pipeline as a job`,
      {
        details: { running: runs.running, max_concurrent_adhoc_runs: max },
      },
    );
  }
  runs.running += 1;
  try {
    const executionId = crypto.randomUUID();
    const log = openExecutionLog(executionId);
    const outcome = await runPipeline(
      { executionId, jobId: null, pipelineRef, startTime: nowIso(), trigger: "api", signal: new AbortController().signal, limits },
      log,
      initialContext,
      async () => undefined,
    );
    await new Promise<void>((resolve) => log.end(resolve));
    return { execution_id: executionId, success: outcome.status === "success", ...outcome };
  } finally {
    runs.running -= 1;
  }
}

/** What the pipeline page shows after a test run: the run's outcome, its steps and the start of its log. */
export interface TestRunResult extends Omit<AdHocRunResult, "context"> {
  log: string;
}

/**
 * A test run from the pipeline page: executePipelineNow with an empty context (no job, so no history
 * row), then the beginning of its log file. Runs the pipeline's steps; writes one log file.
 */
export async function testRunPipeline(name: string, caller: Principal | null): Promise<TestRunResult> {
  const { context: _context, ...result } = await executePipelineNow(name, {}, caller);
  return { ...result, log: readExecutionLogChunk(result.execution_id, 0).content };
}
