/**
 * The form fields a kind of notification channel or offsite destination asks for, and how typed
 * values become the API's `settings` (stored as they are) and `secrets` (stored sealed, never shown
 * again). One home for both forms, so a secret field behaves the same wherever it is typed:
 * empty on edit, and left out of the request unless something was typed, which keeps the stored one.
 * No server-only code: the browser forms read it.
 */
export interface KindFieldSpec {
  name: string;
  label: string;
  /** stored sealed; left empty on edit, the stored value is kept */
  secret?: boolean;
  /** "list": typed comma-separated, sent as an array of strings */
  type?: "text" | "number" | "select" | "checkbox" | "list" | "textarea";
  options?: readonly string[];
  placeholder?: string;
  help?: string;
}

/** What the form holds while typing: text for every field, a boolean for checkboxes. */
export type KindFieldValues = Record<string, string | boolean>;

/** The form's starting values from stored settings (secrets always start empty). */
export function kindFieldValues(fields: readonly KindFieldSpec[], stored: Record<string, unknown> | undefined, checkboxDefault: boolean): KindFieldValues {
  const values: KindFieldValues = {};
  for (const field of fields) {
    const value = stored?.[field.name];
    if (field.type === "checkbox") values[field.name] = value === undefined ? checkboxDefault : Boolean(value);
    else if (field.type === "list") values[field.name] = Array.isArray(value) ? value.join(", ") : "";
    else values[field.name] = field.secret || value === undefined ? "" : String(value);
  }
  return values;
}

/** The typed values split into settings and secrets, in the API's types; empty text is left out. */
export function splitKindFields(
  fields: readonly KindFieldSpec[],
  values: KindFieldValues,
): { settings: Record<string, unknown>; secrets: Record<string, string> } {
  const settings: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.secret) {
      if (typeof value === "string" && value !== "") secrets[field.name] = value;
    } else if (field.type === "checkbox") settings[field.name] = Boolean(value);
    else if (field.type === "list")
      settings[field.name] = String(value ?? "")
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
    else if (value === undefined || value === "") continue;
    else settings[field.name] = field.type === "number" ? Number(value) : value;
  }
  return { settings, secrets };
}

/** An action's refusal as one line for the form: each field's messages with its path, else the message. */
export function refusalText(error: { message: string; fields?: Record<string, string[]> }): string {
  const fieldMessages = Object.entries(error.fields ?? {}).map(([path, messages]) => `${path}: ${messages.join(", ")}`);
  return fieldMessages.length > 0 ? fieldMessages.join("; ") : error.message;
}
