"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { updateConfigAction } from "@/app/(dashboard)/settings/actions";
import type { ConfigView } from "@/lib/config/edit";
import { keepInput } from "@/app/_components/keep-input";

const LOG_LEVELS = ["error", "warn", "info", "debug"];

type Outcome = { kind: "saved"; live: string[]; restart: string[] } | { kind: "error"; message: string; fields?: Record<string, string[]> } | null;

/** Edits the runtime overrides in config.yaml; only changed fields are sent, secrets only when retyped. */
export function ConfigForm({ view }: { view: ConfigView }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [outcome, setOutcome] = useState<Outcome>(null);

  function submit(form: FormData, element: HTMLFormElement) {
    const changes: Record<string, Record<string, string>> = {};
    for (const setting of view.editable) {
      if (setting.overridden_by) continue;
      let value = form.get(setting.key);
      if (setting.secret) {
        if (form.get(`${setting.key}:clear`) === "on") value = "";
        else if (!value) continue;
      }
      if (value === null || String(value) === String(view.values[setting.key] ?? "")) continue;
      const [tree, key] = setting.key.split(".") as [string, string];
      (changes[tree] ??= {})[key] = String(value);
    }
    if (Object.keys(changes).length === 0) {
      setOutcome({ kind: "error", message: "Nothing changed." });
      return;
    }
    startTransition(async () => {
      const result = await updateConfigAction(changes);
      if (result.ok) {
        setOutcome({
          kind: "saved",
          live: result.data.changed.filter((c) => c.apply === "live").map((c) => c.key),
          restart: result.data.changed.filter((c) => c.apply === "restart").map((c) => c.key),
        });
        router.refresh();
        // Saved secrets are never shown again: their fields go back to "set (hidden)".
        for (const setting of view.editable.filter((s) => s.secret)) {
          const input = element.elements.namedItem(setting.key);
          if (input instanceof HTMLInputElement) input.value = "";
          const remove = element.elements.namedItem(`${setting.key}:clear`);
          if (remove instanceof HTMLInputElement) remove.checked = false;
        }
      } else {
        // Each problem by the setting's label, and beside its field.
        const fields = result.error.fields ?? {};
        const labelOf = (key: string) => view.editable.find((setting) => setting.key === key)?.label ?? key;
        const listed = Object.entries(fields).map(([key, messages]) => `${labelOf(key)}: ${messages.join(", ")}`);
        setOutcome({ kind: "error", message: listed.length > 0 ? listed.join("; ") : result.error.message, fields });
      }
    });
  }

  return (
    // A refusal stays until the form is edited: then it may no longer be true.
    <form onSubmit={keepInput(submit)} onChange={() => outcome?.kind === "error" && setOutcome(null)} className="space-y-4">
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
        {view.editable.map((setting) => {
          const current = view.values[setting.key];
          const id = `config-${setting.key}`;
          const disabled = setting.overridden_by !== null;
          const problem = outcome?.kind === "error" ? outcome.fields?.[setting.key]?.join(", ") : undefined;
          const inputClass =
            "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15 disabled:bg-slate-100 disabled:text-slate-500";
          return (
            <div key={setting.key} className="text-sm">
              <label htmlFor={id} className="font-medium text-slate-700">
                {setting.label}
                {setting.unit ? <span className="font-normal text-slate-500"> ({setting.unit})</span> : null}
              </label>
              {setting.kind === "flag" ? (
                <select id={id} name={setting.key} defaultValue={String(current === true)} disabled={disabled} className={inputClass}>
                  <option value="true">on</option>
                  <option value="false">off</option>
                </select>
              ) : setting.key === "logging.level" ? (
                <select id={id} name={setting.key} defaultValue={String(current)} disabled={disabled} className={inputClass}>
                  {LOG_LEVELS.map((level) => (
                    <option key={level}>{level}</option>
                  ))}
                </select>
              ) : setting.secret ? (
                <input
                  id={id}
                  name={setting.key}
                  type="url"
                  disabled={disabled}
                  aria-invalid={problem ? true : undefined}
                  placeholder={current ? "set (hidden); type a new value to replace it" : "not set"}
                  autoComplete="off"
                  className={inputClass}
                />
              ) : (
                <input
                  id={id}
                  name={setting.key}
                  defaultValue={String(current ?? "")}
                  disabled={disabled}
                  aria-invalid={problem ? true : undefined}
                  className={inputClass}
                />
              )}
              {setting.secret && current ? (
                <label className="mt-1 flex items-center gap-1 text-xs text-slate-600">
                  <input type="checkbox" name={`${setting.key}:clear`} disabled={disabled} /> remove it
                </label>
              ) : null}
              {problem && <p className="mt-1 text-xs font-medium text-red-700">{problem}</p>}
              <p className="mt-1 text-xs text-slate-500">
                {disabled ? (
                  <>Set by the environment variable {setting.overridden_by}, which wins over the file; change it there.</>
                ) : setting.apply === "live" ? (
                  <>Applies at once ({setting.note}).</>
                ) : (
                  <>Applies after a restart ({setting.note}).</>
                )}
              </p>
            </div>
          );
        })}
      </div>
      {outcome?.kind === "saved" && (
        <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">
          Saved to {view.config_file}.{outcome.live.length > 0 ? ` Applied now: ${outcome.live.join(", ")}.` : ""}
          {outcome.restart.length > 0 ? ` Needs a restart to take effect: ${outcome.restart.join(", ")}.` : ""}
        </p>
      )}
      {outcome?.kind === "error" && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
          {outcome.message}
        </p>
      )}
      <Button type="submit" disabled={pending}>
        {pending ? "Saving…" : "Save settings"}
      </Button>
    </form>
  );
}
