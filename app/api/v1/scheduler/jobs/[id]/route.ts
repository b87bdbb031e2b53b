import { route } from "@/lib/http";
import { jobIdParams, updateJobInput } from "@/lib/jobs/inputs";
import { deleteJob, getJob, jobWarnings, updateJob } from "@/lib/jobs/service";

export const GET = route({ access: "read", params: jobIdParams }, ({ params }) => getJob(params.id));

export const PUT = route({ access: "write", audit: "job.update", params: jobIdParams, body: updateJobInput }, async ({ params, body, principal }) => {
  const job = await updateJob(params.id, body, principal);
  return { message: "Job updated successfully", job_id: job.id, job, warnings: jobWarnings(job) };
});

export const DELETE = route({ access: "admin", params: jobIdParams, reauth: true, audit: "job.delete" }, async ({ params, principal }) => {
  await deleteJob(params.id, principal);
  return { message: "Job deleted successfully", job_id: params.id };
});
