import { expect, test } from "vitest";
import { AppError, isErrorCode } from "@/lib/errors";

test("error codes are a closed list: an unknown code does not compile, and every code has its status", () => {
  // @ts-expect-error a code that is not in the list is refused by the compiler
  const unknown = new AppError("no_such_code", "x");
  expect(unknown.code).toBe("no_such_code");
  expect(new AppError("invalid_cron", "x").status).toBe(400);
  expect(new AppError("cancelled", "x").status).toBe(409);
  expect(new AppError("not_found", "x").status).toBe(404);
});

test("an envelope's code read back in the browser is ours or nothing", () => {
  expect(isErrorCode("env_override")).toBe(true);
  expect(isErrorCode("conflict")).toBe(true);
  expect(isErrorCode("toString")).toBe(false);
  expect(isErrorCode("whatever")).toBe(false);
});
