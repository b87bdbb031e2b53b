import { route } from "@/lib/http";
import { statisticsQuery } from "@/lib/executions/inputs";
import { getExecutionStatistics } from "@/lib/executions/service";

export const GET = route({ access: "read", query: statisticsQuery }, ({ query }) => getExecutionStatistics(query));
