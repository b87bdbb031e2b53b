import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { openJson, openSecret, SECRET_KEY_FILE, sealJson, sealSecret } from "@/lib/secrets/sealed";

let root: TestDataRoot;

function useEnv(env: Record<string, string>) {
  setConfig(loadConfig({ MIMIR_HOME: root.home, ...env }, root.home));
}

beforeAll(() => {
  root = createTestDataRoot();
});

afterAll(() => root.cleanup());

test("without MIMIR_SECRET_KEY a private key file is made once, and what it seals opens again", () => {
  const keyFile = path.join(root.config.paths.config, SECRET_KEY_FILE);
  expect(fs.existsSync(keyFile)).toBe(false);
  const sealed = sealJson({ password: "hunter2-but-longer" });
  expect(sealed).not.toContain("hunter2");
  expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
  const key = fs.readFileSync(keyFile, "utf8");
  expect(openJson(sealJson({ a: 1 }))).toEqual({ a: 1 });
  expect(fs.readFileSync(keyFile, "utf8")).toBe(key);
  expect(openJson(sealed)).toEqual({ password: "hunter2-but-longer" });
  // Each sealing takes a fresh IV: the same text never seals the same way twice.
  expect(sealSecret("same")).not.toBe(sealSecret("same"));
});

test.each([
  [
    "sealed under another key",
    (sealed: string) => {
      useEnv({ MIMIR_SECRET_KEY: "another key entirely, long and random" });
      return sealed;
    },
    /sealed under another key/,
  ],
  ["altered", (sealed: string) => sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA"), /damaged/],
  ["not in the format", () => "plain text", /not in a format/],
])("a secret %s is refused with secret_unreadable", (_case, spoil, message) => {
  useEnv({});
  const sealed = sealSecret("the secret");
  let error: unknown;
  try {
    openSecret(spoil(sealed));
  } catch (caught) {
    error = caught;
  }
  expect(error).toMatchObject({ code: "secret_unreadable", message: expect.stringMatching(message) });
  useEnv({});
});

test("MIMIR_SECRET_KEY, when set, is the key", () => {
  useEnv({ MIMIR_SECRET_KEY: "an operator's key from a secrets manager" });
  const sealed = sealSecret("from env");
  useEnv({ MIMIR_SECRET_KEY: "an operator's key from a secrets manager" });
  expect(openSecret(sealed)).toBe("from env");
  useEnv({});
  expect(() => openSecret(sealed)).toThrow(/another key/);
});
