import "server-only";
import { z } from "zod";
import type { BuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import { isAppError } from "@/lib/errors";
import { outboundFetch } from "@/lib/net/outbound";

/** The part of a webhook's answer kept in the step's output. */
const MAX_RESPONSE_EXCERPT = 500;

const webhookConfig = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, message: "an http:// or https:// URL" })
    // fetch refuses user:password@ with an error that repeats the URL whole; credentials go in `headers`
    .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), "an http(s) URL without user:password@ in it (put credentials in headers)")
    .describe("the URL to call (http:// or https://)"),
  method: z.enum(["POST", "PUT", "GET"]).default("POST").describe("GET sends no body (a health ping); POST and PUT send the JSON body"),
  headers: z.record(z.string(), z.string()).default({}).describe("extra request headers, e.g. Authorization"),
  body: z.record(z.string(), z.unknown()).default({}).describe("fields merged into the JSON body beside execution_id, job_id, pipeline and step"),
  /**
   * Keep the start of the answer's body in the step's output (and so in the context of later steps).
   * Off by default: the output is readable with read scope, and the answer may be anything the
   * destination returns.
   */
  capture_response: z.boolean().default(false).describe("keep the first 500 characters of the answer in the step's output (readable with read scope)"),
});

/**
 * System.webhook: calls a URL with the run's identifiers (and `body`) as JSON, for alerting and for
 * chaining other systems, through the outbound guard (no loopback, private or link-local destination
 * unless allowed; no redirects). A non-2xx answer fails the step.
 */
export const webhookPlugin: BuiltinPlugin<z.infer<typeof webhookConfig>> = {
  name: "System.webhook",
  scope: "write",
  description: "Calls a URL with JSON about this run; a non-2xx answer fails the step.",
  configSchema: webhookConfig,
  async run(config, context) {
    const payload = { execution_id: context.executionId, job_id: context.jobId, pipeline: context.pipeline, step: context.stepName, ...config.body };
    // Webhook URLs carry their secret in the path (Slack, Discord): the run's log names the host only.
    const host = new URL(config.url).host;
    context.log(`${config.method} ${host}`);
    let response: Response;
    try {
      response = await outboundFetch(config.url, {
        method: config.method,
        headers: { "Content-Type": "application/json", ...config.headers },
        body: config.method === "GET" ? undefined : JSON.stringify(payload),
        signal: context.signal,
      });
    } catch (error) {
      if (context.signal.aborted) throw error;
      if (isAppError(error) && error.code === "destination_forbidden") throw new Error(error.message);
      // One reason for every failure to connect (refused, reset, timed out, unresolvable): a step's
      // error is readable with read scope, and telling them apart would let a pipeline map the network.
      throw new Error(`${host} could not be reached`);
    }
    context.log(`answered ${response.status}`);
    if (!config.capture_response) {
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) throw new Error(`${host} answered HTTP ${response.status}`);
      return { status: response.status };
    }
    const text = (await response.text()).slice(0, MAX_RESPONSE_EXCERPT);
    if (!response.ok) throw new Error(`${host} answered HTTP ${response.status}: ${text}`);
    return { status: response.status, response: text };
  },
};
