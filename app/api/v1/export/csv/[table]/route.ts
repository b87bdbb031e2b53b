import { route } from "@/lib/http";
import { recordAudit } from "@/lib/audit/service";
import { tableParams } from "@/lib/maintenance/inputs";
import { exportFileName, exportTableCsv, resolveExportTable, streamDownload } from "@/lib/maintenance/export";

export const GET = route({ access: "admin", params: tableParams }, async ({ params, principal }) => {
  const table = await resolveExportTable(params.table);
  await recordAudit({ principal, action: "export.csv", target: table, result: "ok" });
  return streamDownload(exportTableCsv(table), exportFileName(table, "csv"), "text/csv");
});
