import { expect, test } from "vitest";
import { safeNextPath, signInAgainHref } from "@/lib/sign-in-next";

test("sign-in goes back only to a page of this site", () => {
  expect(safeNextPath("/backups?cursor=abc")).toBe("/backups?cursor=abc");
  expect(safeNextPath("/jobs/job%201")).toBe("/jobs/job%201");
  for (const hostile of ["//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/\t/evil.example", "", null, undefined, "/login", "/setup"]) {
    expect(safeNextPath(hostile), String(hostile)).toBe("/");
  }
});

test("a session that ended sends the browser to sign in, with the way back", () => {
  expect(signInAgainHref({ pathname: "/backups", search: "?cursor=x" })).toBe("/login?next=%2Fbackups%3Fcursor%3Dx");
  expect(signInAgainHref({ pathname: "/", search: "" })).toBe("/login");
});
