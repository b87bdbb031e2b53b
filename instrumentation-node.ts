import { boot } from "@/lib/boot";
import { installRequestGate } from "@/lib/request-gate";

// Next.js logs a throwing register() and keeps serving 500s; a server that cannot boot must exit instead.
installRequestGate();
try {
  await boot();
} catch (error) {
  console.error(`Mimir persistence console failed to start:\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
