import { route } from "@/lib/http";
import { getHealthFor, healthHttpStatus } from "@/lib/health/service";

// Public for probes; a signed-in browser or a token also gets paths, sizes and reason texts.
export const GET = route({ access: "public", identifyCaller: true }, async ({ principal }) => {
  const report = await getHealthFor(principal);
  return Response.json(report, { status: healthHttpStatus(report), headers: { "Cache-Control": "no-store" } });
});
