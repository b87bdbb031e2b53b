import "server-only";
import { processState } from "@/lib/process-state";
import type { PipelineStep } from "@/lib/pipelines/definition";

/** One problem with a step, its path relative to the step (["plugin"], ["config", "url"]). */
export interface StepProblem {
  path: (string | number)[];
  message: string;
}

/** Checks one step against the plugins that exist (the scheduler's catalog); returns its problems. */
export type StepChecker = (step: PipelineStep) => StepProblem[];

// Filled from the top (lib/boot.ts sets the scheduler's catalog): pipelines sit below the scheduler
// and the capabilities whose plugins it lists, so they may not import it. Process-wide, because
// instrumentation and each route are bundled apart.
const memo = processState("stepChecker", (): { checker?: StepChecker } => ({}));

export function setStepChecker(checker: StepChecker | null): void {
  memo.checker = checker ?? undefined;
}

/** The registered checker; null before boot (the CLI and unit tests that do not set one). */
export function getStepChecker(): StepChecker | null {
  return memo.checker ?? null;
}
