import { route } from "@/lib/http";
import { operationIdParams } from "@/lib/operations/inputs";
import { getOperation } from "@/lib/operations/service";

export const GET = route({ access: "read", params: operationIdParams }, ({ params }) => getOperation(params.operationId));
