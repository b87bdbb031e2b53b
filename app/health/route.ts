import { route } from "@/lib/http";
import { getHealth, healthHttpStatus } from "@/lib/health/service";

export const GET = route({ access: "public" }, async () => {
  const report = await getHealth();
  return Response.json(report, { status: healthHttpStatus(report), headers: { "Cache-Control": "no-store" } });
});
