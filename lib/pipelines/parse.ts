import "server-only";
import { AppError } from "@/lib/errors";
import { parsePipelineText, type PipelineDefinition, type PipelineIssue } from "@/lib/pipelines/definition";
import { getStepChecker } from "@/lib/pipelines/step-checks";

/** One line for a list of problems: the first with its place, and how many more. */
export function describePipelineIssues(issues: PipelineIssue[]): string {
  const [first] = issues;
  if (!first) return "The pipeline is not valid";
  const at = first.line === null ? "" : `line ${first.line}, column ${first.column}: `;
  const where = first.path ? `${first.path}: ` : "";
  return `${at}${where}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : ""}`;
}

/**
 * Parses a text into exactly one valid pipeline, or throws invalid_yaml / invalid_pipeline listing
 * every problem with its place. `checkPlugins` (a person saving) also refuses steps whose plugin does
 * not exist or whose config its plugin refuses; files synced from the volume and runs are not held to
 * it (a file is the truth there, and a run reports the same problem when it reaches the step).
 */
export function parseOnePipeline(text: string, { checkPlugins = false }: { checkPlugins?: boolean } = {}): PipelineDefinition {
  const result = parsePipelineText(text, { checkStep: checkPlugins ? getStepChecker() : null });
  if (!result.ok) {
    const syntax = result.issues.every((issue) => issue.path === "" && issue.line !== null);
    throw new AppError(syntax ? "invalid_yaml" : "invalid_pipeline", describePipelineIssues(result.issues), { details: result.issues });
  }
  if (result.pipelines.length !== 1) {
    throw new AppError(
      "invalid_pipeline",
      `This text holds ${result.pipelines.length} pipelines; send one per request (a file in the volume may hold several)`,
    );
  }
  return result.pipelines[0]!;
}
