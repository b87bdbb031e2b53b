import { route } from "@/lib/http";
import { listRunningExecutions } from "@/lib/executions/service";

export const GET = route({ access: "read" }, () => listRunningExecutions());
