// Compiled for the Edge runtime too: Node-only boot code is imported only in the Node runtime.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") await import("./instrumentation-node");
}
