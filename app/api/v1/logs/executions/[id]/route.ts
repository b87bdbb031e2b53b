import { route } from "@/lib/http";
import { executionIdParams, logQuery } from "@/lib/executions/inputs";
import { getExecutionLog } from "@/lib/executions/service";

/** A chunk of a run's log from `?offset=`; follow a running run by passing next_offset back. */
export const GET = route({ access: "read", params: executionIdParams, query: logQuery }, ({ params, query }) => getExecutionLog(params.id, query.offset));
