import { json, route } from "@/lib/http";
import { integrityCheckInput } from "@/lib/maintenance/inputs";
import { startMaintenance } from "@/lib/maintenance/service";

/** Body optional: `{"quick": true}` runs quick_check instead of the full integrity_check. */
export const POST = route({ access: "write", audit: "maintenance.integrity_check", rawBody: true, maxBodyBytes: 1024 }, async ({ principal, rawBody }) => {
  const text = rawBody?.text.trim() ?? "";
  const input = integrityCheckInput.parse(text === "" ? {} : parseJsonBody(text));
  return json(await startMaintenance("integrity_check", principal, { quick: input.quick }), 202);
});

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
