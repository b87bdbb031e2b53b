import { json, route } from "@/lib/http";
import { jobIdParams } from "@/lib/jobs/inputs";
import { runJobNow } from "@/lib/scheduler/run-control";

export const POST = route({ access: "write", audit: "job.run", params: jobIdParams }, async ({ params, principal }) => {
  const run = await runJobNow(params.id, "api", principal);
  return json(
    {
      message: run.status === "skipped" ? "The job is already running; this run was skipped" : "Job run started",
      job_id: run.job_id,
      execution_id: run.execution_id,
      status: run.status,
    },
    202,
  );
});
