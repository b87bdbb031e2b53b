import { route } from "@/lib/http";
import { operationIdParams } from "@/lib/operations/inputs";
import { cancelOperation } from "@/lib/operations/service";

export const POST = route({ access: "write", audit: "operation.cancel", params: operationIdParams, whileMigrating: true }, ({ params, principal }) =>
  cancelOperation(params.operationId, principal),
);
