"use client";

import { useEffect, useRef, useState, useTransition } from "react";
import { createChannelAction, updateChannelAction } from "@/app/(dashboard)/settings/actions";
import { FORM_INPUT, KindAndNameFields } from "@/app/_components/kind-field";
import { FormDialog } from "@/app/_components/form-dialog";
import { kindFieldValues, refusalText, splitKindFields } from "@/lib/kind-fields";
import { CHANNEL_KINDS, CHANNEL_KIND_NAMES, type ChannelKind } from "@/lib/notify/channel-kinds";
import { EVENT_NAMES, SEVERITIES, type EventName, type Severity } from "@/lib/notify/events";
import type { ChannelDto } from "@/lib/notify/types";

interface Draft {
  kind: ChannelKind;
  name: string;
  enabled: boolean;
  events: EventName[];
  min_severity: Severity;
  reminder_hours: string;
  quiet_start: string;
  quiet_end: string;
  /** every kind field as typed (secrets start empty: the stored value is kept unless one is typed) */
  fields: Record<string, string | boolean>;
}

function draftOf(channel: ChannelDto | null, kind: ChannelKind): Draft {
  const fields = kindFieldValues(CHANNEL_KINDS[kind].fields, channel?.settings, true);
  return {
    kind,
    name: channel?.name ?? "",
    enabled: channel?.enabled ?? true,
    events: channel?.events ?? [...EVENT_NAMES],
    min_severity: channel?.min_severity ?? "info",
    reminder_hours: channel?.reminder_hours ? String(channel.reminder_hours) : "",
    quiet_start: channel?.quiet_hours?.start ?? "",
    quiet_end: channel?.quiet_hours?.end ?? "",
    fields,
  };
}

/**
 * Add or edit a channel: the kind's own fields (secrets stay empty on edit and are kept unless typed),
 * the events it gets, its minimum severity, reminder interval and quiet hours.
 */
export function ChannelForm({ channel, open, onClose, onSaved }: { channel: ChannelDto | null; open: boolean; onClose: () => void; onSaved: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [draft, setDraft] = useState<Draft>(() => draftOf(channel, channel?.kind ?? "email"));
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();

  useEffect(() => {
    if (open && !dialog.current?.open) {
      setDraft(draftOf(channel, channel?.kind ?? "email"));
      setError(null);
      dialog.current?.showModal();
    }
    if (!open && dialog.current?.open) dialog.current.close();
  }, [open, channel]);

  const editing = channel !== null;
  const fields = CHANNEL_KINDS[draft.kind].fields;

  function submit() {
    setError(null);
    const { settings, secrets } = splitKindFields(fields, draft.fields);
    const common = {
      name: draft.name,
      enabled: draft.enabled,
      events: draft.events,
      min_severity: draft.min_severity,
      reminder_hours: draft.reminder_hours ? Number(draft.reminder_hours) : null,
      quiet_hours: draft.quiet_start && draft.quiet_end ? { start: draft.quiet_start, end: draft.quiet_end } : null,
    };
    startTransition(async () => {
      const result = editing
        ? await updateChannelAction({ channelId: channel.id, change: { ...common, settings, secrets } })
        : await createChannelAction({ kind: draft.kind, ...common, settings, secrets } as Parameters<typeof createChannelAction>[0]);
      if (result.ok) {
        dialog.current?.close();
        onSaved();
      } else {
        setError(refusalText(result.error));
      }
    });
  }

  return (
    <FormDialog
      dialogRef={dialog}
      title={editing ? `Edit channel '${channel.name}'` : "Add a notification channel"}
      onClose={onClose}
      onSubmit={submit}
      error={error}
      pending={pending}
      canSubmit={draft.name.trim() !== ""}
      submitLabel={editing ? "Save channel" : "Add channel"}
    >
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <KindAndNameFields
          kinds={CHANNEL_KIND_NAMES.map((kind) => ({ kind, label: CHANNEL_KINDS[kind].label }))}
          kind={draft.kind}
          name={draft.name}
          namePlaceholder="ops on-call"
          fields={fields}
          values={draft.fields}
          editing={editing}
          storedSecrets={channel?.secrets_set ?? []}
          onKind={(kind) => setDraft({ ...draftOf(null, kind), name: draft.name })}
          onName={(name) => setDraft({ ...draft, name })}
          onField={(name, value) => setDraft({ ...draft, fields: { ...draft.fields, [name]: value } })}
        />
      </div>
      <fieldset className="text-sm">
        <legend className="font-medium text-slate-700">Events</legend>
        <div className="mt-1 grid grid-cols-1 gap-1 sm:grid-cols-2">
          {EVENT_NAMES.map((name) => (
            <label key={name} className="flex items-center gap-2 font-mono text-xs text-slate-700">
              <input
                type="checkbox"
                checked={draft.events.includes(name)}
                onChange={(e) => setDraft({ ...draft, events: e.target.checked ? [...draft.events, name] : draft.events.filter((event) => event !== name) })}
              />
              {name}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-4">
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Minimum severity</span>
          <select value={draft.min_severity} onChange={(e) => setDraft({ ...draft, min_severity: e.target.value as Severity })} className={FORM_INPUT}>
            {SEVERITIES.map((severity) => (
              <option key={severity}>{severity}</option>
            ))}
          </select>
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Reminder every (h)</span>
          <input
            type="number"
            min={1}
            max={720}
            value={draft.reminder_hours}
            onChange={(e) => setDraft({ ...draft, reminder_hours: e.target.value })}
            className={FORM_INPUT}
            placeholder="default"
          />
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Quiet from (UTC)</span>
          <input type="time" value={draft.quiet_start} onChange={(e) => setDraft({ ...draft, quiet_start: e.target.value })} className={FORM_INPUT} />
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Quiet until (UTC)</span>
          <input type="time" value={draft.quiet_end} onChange={(e) => setDraft({ ...draft, quiet_end: e.target.value })} className={FORM_INPUT} />
        </label>
      </div>
      <p className="text-xs text-slate-500">During quiet hours only critical events go out at once; the rest wait until they end.</p>
      <label className="flex items-center gap-2 text-sm text-slate-800">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} />
        Enabled
      </label>
    </FormDialog>
  );
}
