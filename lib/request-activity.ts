import "server-only";
import type http from "node:http";
import { performance } from "node:perf_hooks";
import { processState } from "@/lib/process-state";

/**
 * Whether anyone is being answered: requests in flight and when the last one came or ended. Work
 * nobody waits for that stops the event loop for tens of milliseconds (a forced full collection,
 * lib/freed-memory.ts) waits for a quiet moment instead of landing on a script's read.
 */
const state = processState("requestActivity", () => ({ inFlight: 0, lastAt: 0 }));

/** Counts `response` in flight until it closes (finished or abandoned); called for every request (lib/request-gate.ts). */
export function trackRequest(response: http.ServerResponse): void {
  state.inFlight += 1;
  state.lastAt = performance.now();
  response.once("close", () => {
    state.inFlight -= 1;
    state.lastAt = performance.now();
  });
}

/** No request in flight, and none came or ended in the last `ms`. */
export function quietFor(ms: number): boolean {
  return state.inFlight === 0 && performance.now() - state.lastAt >= ms;
}
