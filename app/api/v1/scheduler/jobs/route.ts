import { json, route } from "@/lib/http";
import { bareArrayPage } from "@/lib/http-link";
import { createJobInput, listJobsQuery } from "@/lib/jobs/inputs";
import { createJob, jobWarnings, listJobs } from "@/lib/jobs/service";

export const GET = route({ access: "read", query: listJobsQuery }, async ({ query, url }) => bareArrayPage(url, await listJobs(query)));

export const POST = route({ access: "write", audit: "job.create", body: createJobInput }, async ({ body, principal }) => {
  const job = await createJob(body, principal);
  return json({ message: "Job created successfully", job_id: job.id, warnings: jobWarnings(job) }, 201);
});
