import { boot } from "@/lib/boot";
import { installRequestGate } from "@/lib/request-gate";
import { enableDirectRoutes, loadProbeRoutes } from "@/lib/direct-routes";
import { TABLE_SCANS_AFTER_BOOT_MS, warmTableScans } from "@/lib/metrics/run-duration";

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
  // /metrics reports two passes over whole tables, read in the background and reused: start them soon
  // after boot, once the first probes and scrapes are served; a scrape never waits for them (their
  // families are absent until then).
  setTimeout(() => void warmTableScans(), TABLE_SCANS_AFTER_BOOT_MS).unref();
} catch (error) {
  console.error(`Mimir persistence console failed to start:\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
