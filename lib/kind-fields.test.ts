import { describe, expect, it } from "vitest";
import { kindFieldValues, refusalText, splitKindFields, type KindFieldSpec } from "@/lib/kind-fields";

const FIELDS: KindFieldSpec[] = [
  { name: "host", label: "Host" },
  { name: "port", label: "Port", type: "number" },
  { name: "tls", label: "TLS", type: "checkbox" },
  { name: "to", label: "To", type: "list" },
  { name: "password", label: "Password", secret: true },
];

describe("kind fields", () => {
  it("starts from the stored settings, with secrets always empty and checkboxes defaulted", () => {
    expect(kindFieldValues(FIELDS, { host: "smtp.example", port: 587, to: ["a@x", "b@x"], password: "leak?" }, true)).toEqual({
      host: "smtp.example",
      port: "587",
      tls: true,
      to: "a@x, b@x",
      password: "",
    });
    expect(kindFieldValues(FIELDS, undefined, false)).toEqual({ host: "", port: "", tls: false, to: "", password: "" });
  });

  it("splits typed values into settings and secrets, leaving out empty text and untyped secrets", () => {
    expect(splitKindFields(FIELDS, { host: "h", port: "25", tls: false, to: " a@x, ,b@x ", password: "" })).toEqual({
      settings: { host: "h", port: 25, tls: false, to: ["a@x", "b@x"] },
      secrets: {},
    });
    expect(splitKindFields(FIELDS, { host: "", port: "", tls: true, to: "", password: "s3cret" })).toEqual({
      settings: { tls: true, to: [] },
      secrets: { password: "s3cret" },
    });
  });

  it("words a refusal by its fields when it has them", () => {
    expect(refusalText({ message: "Invalid input", fields: { "settings.port": ["a number", "at most 65535"] } })).toBe(
      "settings.port: a number, at most 65535",
    );
    expect(refusalText({ message: "Name taken" })).toBe("Name taken");
  });
});
