import { route } from "@/lib/http";
import { recentQuery } from "@/lib/executions/inputs";
import { listRecentExecutions } from "@/lib/executions/service";

export const GET = route({ access: "read", query: recentQuery }, ({ query }) => listRecentExecutions(query.limit));
