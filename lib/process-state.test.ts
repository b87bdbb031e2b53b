import { expect, test, vi } from "vitest";

test("a slot is made once per process, even when its module is loaded twice (as Next.js bundles do)", async () => {
  const first = await import("@/lib/process-state");
  vi.resetModules();
  const second = await import("@/lib/process-state");
  expect(second).not.toBe(first);
  let made = 0;
  const make = () => {
    made += 1;
    return new Map<string, number>();
  };
  const a = first.processState("jobListeners", make);
  const b = second.processState("jobListeners", make);
  expect(b).toBe(a);
  expect(made).toBe(1);
});
