import { expect, test } from "vitest";
import { createSerialQueue } from "@/lib/serial-queue";

test("tasks run one after another in the order given, and a failure does not hold up the next", async () => {
  const inTurn = createSerialQueue();
  const events: string[] = [];
  const task =
    (name: string, fail = false) =>
    async () => {
      events.push(`${name} start`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`${name} end`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
  const results = await Promise.allSettled([inTurn(task("a")), inTurn(task("b", true)), inTurn(task("c"))]);
  expect(events).toEqual(["a start", "a end", "b start", "b end", "c start", "c end"]);
  expect(results.map((result) => (result.status === "fulfilled" ? result.value : (result.reason as Error).message))).toEqual(["a", "b failed", "c"]);
  await inTurn(async () => {}); // waiting for everything queued so far resolves once it is done
});
