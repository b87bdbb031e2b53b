import { route } from "@/lib/http";
import { executionIdParams } from "@/lib/executions/inputs";
import { getExecution } from "@/lib/executions/service";

export const GET = route({ access: "read", params: executionIdParams }, ({ params }) => getExecution(params.id));
