import { route } from "@/lib/http";
import { getJobNotificationSettings, setJobFailureThreshold } from "@/lib/jobs/failure-alerts";
import { jobIdParams, jobNotificationSettingsInput } from "@/lib/notify/inputs";

export const GET = route({ access: "read", params: jobIdParams }, ({ params }) => getJobNotificationSettings(params.jobId));

export const PUT = route({ access: "write", params: jobIdParams, body: jobNotificationSettingsInput, audit: "job.notification_settings" }, ({ params, body }) =>
  setJobFailureThreshold(params.jobId, body.failure_threshold),
);
