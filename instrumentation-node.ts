import { boot } from "@/lib/boot";

// Next.js logs a throwing register() and keeps serving 500s; a server that cannot boot must exit instead.
try {
  await boot();
} catch (error) {
  console.error(`Mimir persistence console failed to start:\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
