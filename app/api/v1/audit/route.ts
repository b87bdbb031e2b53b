import { route } from "@/lib/http";
import { listAuditLog, listAuditQuery } from "@/lib/audit/service";

export const GET = route({ access: "admin", query: listAuditQuery }, ({ query }) => listAuditLog(query));
