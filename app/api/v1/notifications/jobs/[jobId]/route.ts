import { route } from "@/lib/http";
import { getJobNotificationSettings, setJobFailureThreshold } from "@/lib/jobs/failure-alerts";
import { jobNotificationParams, jobNotificationSettingsInput } from "@/lib/jobs/inputs";

export const GET = route({ access: "read", params: jobNotificationParams }, ({ params }) => getJobNotificationSettings(params.jobId));

export const PUT = route(
  { access: "write", params: jobNotificationParams, body: jobNotificationSettingsInput, audit: "job.notification_settings" },
  ({ params, body, principal }) => setJobFailureThreshold(params.jobId, body.failure_threshold, principal),
);
