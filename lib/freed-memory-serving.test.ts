import { expect, test } from "vitest";
import { freedMemoryTrims, startReleasingFreedMemory } from "@/lib/freed-memory";

// A file of its own: a vitest file runs in a process of its own, where nothing else has started trims.
test("a server hands freed memory back from its boot on, with no operation running", async () => {
  const start = freedMemoryTrims();
  startReleasingFreedMemory();
  while (freedMemoryTrims() === start) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(freedMemoryTrims()).toBeGreaterThan(start);
});
