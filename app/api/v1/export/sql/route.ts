import { route } from "@/lib/http";
import { recordAudit } from "@/lib/audit/service";
import { exportDatabaseSql, exportFileName, streamDownload } from "@/lib/maintenance/export";

export const GET = route({ access: "admin" }, async ({ principal }) => {
  await recordAudit({ principal, action: "export.sql", target: "database", result: "ok" });
  return streamDownload(exportDatabaseSql(), exportFileName("mimir", "sql"), "application/sql");
});
