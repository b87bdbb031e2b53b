import { json, route } from "@/lib/http";
import { executionIdParams } from "@/lib/executions/inputs";
import { stopExecution } from "@/lib/scheduler/run-control";

export const POST = route({ access: "write", audit: "execution.stop", params: executionIdParams }, async ({ params, principal }) => {
  const execution = await stopExecution(params.id, principal);
  return json({ message: "Stop requested", execution_id: execution.id, status: execution.status }, 202);
});
