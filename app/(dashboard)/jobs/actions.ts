"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { createJobInput, jobId, jobNotificationSettingsInput, updateJobInput } from "@/lib/jobs/inputs";
import { createJob, deleteJob, setJobEnabled, updateJob } from "@/lib/jobs/service";
import { runJobNow } from "@/lib/scheduler/run-control";
import { setJobFailureThreshold } from "@/lib/jobs/failure-alerts";

export const createJobAction = defineAction(
  "write",
  createJobInput,
  async (input, principal) => {
    const job = await createJob(input, principal);
    revalidatePath("/jobs");
    return { id: job.id };
  },
  { audit: "job.create", target: (input) => input.name },
);

export const updateJobAction = defineAction(
  "write",
  z.object({ id: jobId, changes: updateJobInput }),
  async ({ id, changes }, principal) => {
    await updateJob(id, changes, principal);
    revalidatePath("/jobs");
    return { id };
  },
  { audit: "job.update", target: (input) => input.id },
);

export const setJobEnabledAction = defineAction(
  "write",
  z.object({ id: jobId, enabled: z.boolean() }),
  async ({ id, enabled }, principal) => {
    await setJobEnabled(id, enabled, principal);
    revalidatePath("/jobs");
    return { id, enabled };
  },
  { audit: "job.set_enabled", target: (input) => input.id },
);

export const runJobNowAction = defineAction(
  "write",
  z.object({ id: jobId }),
  async ({ id }, principal) => {
    const run = await runJobNow(id, "manual", principal);
    revalidatePath("/executions");
    return run;
  },
  { audit: "job.run", target: (input) => input.id },
);

// Deleting a job deletes its execution history too: the signed-in user gives their password again.
export const deleteJobAction = defineAction(
  "admin",
  z.object({ id: jobId }),
  async ({ id }, principal) => {
    await deleteJob(id, principal);
    revalidatePath("/jobs");
    return { id };
  },
  { reauth: true, audit: "job.delete", target: (input) => input.id },
);

export const setJobFailureThresholdAction = defineAction(
  "write",
  jobNotificationSettingsInput.extend({ id: jobId }),
  async ({ id, failure_threshold }, principal) => {
    const settings = await setJobFailureThreshold(id, failure_threshold, principal);
    revalidatePath(`/jobs/${encodeURIComponent(id)}`);
    return settings;
  },
  { audit: "job.notification_settings", target: (input) => input.id },
);
