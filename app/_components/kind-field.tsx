"use client";

import type { KindFieldSpec } from "@/lib/kind-fields";

export const FORM_INPUT =
  "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15";

/**
 * One field of a channel's or destination's kind. A secret is a password box that never shows the
 * stored value: on edit it reads "stored — type to replace", and an empty box keeps what is stored.
 */
export function KindField({
  field,
  value,
  stored,
  onChange,
}: {
  field: KindFieldSpec;
  value: string | boolean;
  /** whether a secret of this name is stored already (edit only) */
  stored: boolean;
  onChange: (value: string | boolean) => void;
}) {
  if (field.type === "checkbox") {
    return (
      <label className="flex items-center gap-2 self-end text-sm text-slate-800">
        <input type="checkbox" checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} />
        {field.label}
      </label>
    );
  }
  const placeholder = stored ? "stored — type to replace" : field.placeholder;
  return (
    <label className={`block text-sm ${field.type === "textarea" ? "sm:col-span-2" : ""}`}>
      <span className="font-medium text-slate-700">{field.label}</span>
      {field.type === "select" ? (
        <select value={String(value)} onChange={(e) => onChange(e.target.value)} className={FORM_INPUT}>
          {(field.options ?? []).map((option) => (
            <option key={option}>{option}</option>
          ))}
        </select>
      ) : field.type === "textarea" ? (
        <textarea
          rows={4}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          placeholder={placeholder}
          className={`${FORM_INPUT} font-mono text-xs`}
        />
      ) : (
        <input
          type={field.secret ? "password" : field.type === "number" ? "number" : "text"}
          autoComplete={field.secret ? "new-password" : "off"}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          placeholder={placeholder}
          className={FORM_INPUT}
        />
      )}
      {field.help && <span className="mt-1 block text-xs text-slate-500">{field.help}</span>}
    </label>
  );
}

/**
 * The top of a channel's or destination's form: its kind (fixed once saved: the stored settings belong
 * to it), its name, then the kind's own fields. Changing the kind starts that kind's fields afresh.
 */
export function KindAndNameFields<Kind extends string>({
  kinds,
  kind,
  name,
  namePlaceholder,
  fields,
  values,
  editing,
  storedSecrets,
  onKind,
  onName,
  onField,
}: {
  kinds: readonly { kind: Kind; label: string }[];
  kind: Kind;
  name: string;
  namePlaceholder?: string;
  fields: readonly KindFieldSpec[];
  values: Record<string, string | boolean>;
  editing: boolean;
  /** the names of the secrets already stored (edit only) */
  storedSecrets: readonly string[];
  onKind: (kind: Kind) => void;
  onName: (name: string) => void;
  onField: (name: string, value: string | boolean) => void;
}) {
  return (
    <>
      <label className="block text-sm">
        <span className="font-medium text-slate-700">Kind</span>
        <select value={kind} disabled={editing} onChange={(e) => onKind(e.target.value as Kind)} className={FORM_INPUT}>
          {kinds.map((option) => (
            <option key={option.kind} value={option.kind}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <label className="block text-sm">
        <span className="font-medium text-slate-700">Name</span>
        <input required maxLength={100} value={name} onChange={(e) => onName(e.target.value)} className={FORM_INPUT} placeholder={namePlaceholder} />
      </label>
      {fields.map((field) => (
        <KindField
          key={`${kind}-${field.name}`}
          field={field}
          value={values[field.name] ?? ""}
          stored={editing && storedSecrets.includes(field.name)}
          onChange={(value) => onField(field.name, value)}
        />
      ))}
    </>
  );
}
