import "server-only";
import { z } from "zod";
import type { BuiltinPlugin } from "@/lib/scheduler/builtin-plugins";
import { unreachableReason } from "@/lib/notify/transport";

/** The part of a webhook's answer kept in the step's output. */
const MAX_RESPONSE_EXCERPT = 500;

const webhookConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: "an http:// or https:// URL" }),
  method: z.enum(["POST", "PUT", "GET"]).default("POST"),
  headers: z.record(z.string(), z.string()).default({}),
  /** merged into the JSON body beside the run's identifiers */
  body: z.record(z.string(), z.unknown()).default({}),
});

/**
 * System.webhook: calls a URL with the run's identifiers (and `body`) as JSON, for alerting and for
 * chaining other systems. A non-2xx answer fails the step.
 */
export const webhookPlugin: BuiltinPlugin<z.infer<typeof webhookConfig>> = {
  name: "System.webhook",
  description: "Calls a URL with JSON about this run; a non-2xx answer fails the step.",
  configSchema: webhookConfig,
  async run(config, context) {
    const payload = { execution_id: context.executionId, job_id: context.jobId, pipeline: context.pipeline, step: context.stepName, ...config.body };
    // Webhook URLs carry their secret in the path (Slack, Discord): the run's log names the host only.
    const host = new URL(config.url).host;
    context.log(`${config.method} ${host}`);
    let response: Response;
    try {
      response = await fetch(config.url, {
        method: config.method,
        headers: { "Content-Type": "application/json", ...config.headers },
        body: config.method === "GET" ? undefined : JSON.stringify(payload),
        signal: context.signal,
        redirect: "manual",
      });
    } catch (error) {
      if (context.signal.aborted) throw error;
      throw new Error(`${host} could not be reached: ${unreachableReason(error)}`);
    }
    const text = (await response.text()).slice(0, MAX_RESPONSE_EXCERPT);
    context.log(`answered ${response.status}`);
    if (!response.ok) throw new Error(`${host} answered HTTP ${response.status}: ${text}`);
    return { status: response.status, response: text };
  },
};
