import { route } from "@/lib/http";
import { jobIdParams } from "@/lib/jobs/inputs";
import { setJobEnabled } from "@/lib/jobs/service";

export const POST = route({ access: "write", audit: "job.disable", params: jobIdParams }, async ({ params, principal }) => {
  const job = await setJobEnabled(params.id, false, principal);
  return { message: "Job disabled successfully", job_id: job.id, job };
});
