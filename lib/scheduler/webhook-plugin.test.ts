import net from "node:net";
import { expect, test } from "vitest";
import { webhookPlugin } from "@/lib/scheduler/webhook-plugin";

test("an unreachable webhook fails its step with the reason underneath, by host only", async () => {
  const lines: string[] = [];
  // A port that was free a moment ago: nothing listens there (fetch itself refuses well-known ports like 9).
  const server = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  const config = webhookPlugin.configSchema.parse({ url: `http://127.0.0.1:${port}/hooks/secret-path` });
  const context = { executionId: "e1", jobId: "j1", pipeline: "p", stepName: "ping", signal: new AbortController().signal, log: (line: string) => lines.push(line) };
  const failure = await webhookPlugin.run(config, context as unknown as Parameters<typeof webhookPlugin.run>[1]).then(
    () => null,
    (error: Error) => error.message,
  );
  expect(failure).toBe(`127.0.0.1:${port} could not be reached: connect ECONNREFUSED 127.0.0.1:${port}`);
  expect(failure).not.toContain("secret-path");
  expect(lines.join("\n")).not.toContain("secret-path");
});
