import { boot } from "@/lib/boot";
import { installRequestGate } from "@/lib/request-gate";
import { enableDirectRoutes, loadProbeRoutes } from "@/lib/direct-routes";
import { warmTableScans } from "@/lib/metrics/run-duration";

// Next.js logs a throwing register() and keeps serving 500s; a server that cannot boot must exit instead.
installRequestGate();
try {
  await boot();
  // Without it every request still goes through Next.js: a reason to say so, not to stop the server.
  try {
    enableDirectRoutes();
    await loadProbeRoutes();
  } catch (error) {
    console.error(`Serving the API's reads through Next.js only: ${error instanceof Error ? error.message : String(error)}`);
  }
  // /metrics reports two passes over whole tables, read on a worker thread and reused: start them now
  // (without holding up the boot); a scrape never waits for them (their families are absent until then).
  void warmTableScans();
} catch (error) {
  console.error(`Mimir persistence console failed to start:\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
