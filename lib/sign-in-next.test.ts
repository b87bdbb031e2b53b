import { expect, test } from "vitest";
import { safeNextPath, signInAgainHref } from "@/lib/sign-in-next";

test("sign-in goes back only to a page of this site", () => {
  expect(safeNextPath("/backups?cursor=abc")).toBe("/backups?cursor=abc");
  expect(safeNextPath("/jobs/job%201")).toBe("/jobs/job%201");
  expect(safeNextPath("/executions/abc?tab=log#step-2")).toBe("/executions/abc?tab=log#step-2");
  for (const hostile of [
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example",
    "",
    null,
    undefined,
    "/login",
    "/setup",
  ]) {
    expect(safeNextPath(hostile), String(hostile)).toBe("/");
  }
});

// Every spelling from the security review (finding 4) and its relatives: each normalises to a path
// that starts with two slashes, which a browser reads as another host.
test.each([
  "/.//evil.example/phish",
  "/..//evil.example",
  "/a/..//evil.example",
  "/a/b/../..//evil.example",
  "/%2e//evil.example",
  "/%2E//evil.example",
  "/%2e%2e//evil.example",
  "/.%2e//evil.example",
  "/./\\evil.example",
  "/.\\/evil.example",
  "/\\/evil.example",
  "/\t.//evil.example",
  "/.\n//evil.example",
  "/\r\n.//evil.example",
  "/.//127.0.0.1:18399/pwned-dot",
  "/%2e%2e//127.0.0.1:18399/pwned",
])("a next path %j that normalises off the site is dropped", (hostile) => {
  const safe = safeNextPath(hostile);
  expect(safe).toBe("/");
});

test.each(["/", "/a", "/jobs/x?y=//evil.example", "/pipelines/p#//evil.example", "/%5Cevil.example", "/./jobs", "/x/../storage"])(
  "whatever comes back from %j is one slash and a path segment, and stays on this origin",
  (input) => {
    const safe = safeNextPath(input);
    expect(safe).toMatch(/^\/(?![/\\])/);
    expect(new URL(safe, "http://console.example").origin).toBe("http://console.example");
  },
);

test("a session that ended sends the browser to sign in, with the way back", () => {
  expect(signInAgainHref({ pathname: "/backups", search: "?cursor=x" })).toBe("/login?next=%2Fbackups%3Fcursor%3Dx");
  expect(signInAgainHref({ pathname: "/", search: "" })).toBe("/login");
});
