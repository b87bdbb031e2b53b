import { route } from "@/lib/http";
import { listOperationsQuery } from "@/lib/operations/inputs";
import { listOperations } from "@/lib/operations/service";

export const GET = route({ access: "read", query: listOperationsQuery }, ({ query }) => listOperations(query));
