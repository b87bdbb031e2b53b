"use client";

import { useRouter } from "next/navigation";
import { useEffect, useId, useRef, useState, useTransition } from "react";
import { Badge } from "@/app/_components/ui/badge";
import { Button } from "@/app/_components/ui/button";
import { Card } from "@/app/_components/ui/card";
import { DataTable } from "@/app/_components/ui/data-table";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { formatAge, formatBytes, formatTimestamp } from "@/lib/format";
import { FORM_INPUT, KindAndNameFields } from "@/app/_components/kind-field";
import { FormDialog } from "@/app/_components/form-dialog";
import { kindFieldValues, refusalText, splitKindFields } from "@/lib/kind-fields";
import { DESTINATION_KINDS, type DestinationKind } from "@/lib/offsite/kinds";
import type { DestinationDto, DestinationTestDto, RemoteSetDto } from "@/lib/offsite/types";
import type { OperationDto } from "@/lib/operations/types";
import {
  createDestinationAction,
  deleteDestinationAction,
  listRemoteSetsAction,
  pullSetAction,
  testDestinationAction,
  updateDestinationAction,
} from "./actions";
import { FollowedOperation } from "./backup-operations";

/**
 * The Destinations panel of the Backups page: where verified sets are copied (a mounted folder, SFTP,
 * and the kinds this build has), each with its last test, last copy and failure; add, edit, test,
 * delete; and the sets a destination holds, to pull one back (also on a fresh install).
 */
export function DestinationsPanel({ destinations, kinds }: { destinations: DestinationDto[]; kinds: DestinationKind[] }) {
  const router = useRouter();
  const [editing, setEditing] = useState<DestinationDto | "new" | null>(null);
  const [deleting, setDeleting] = useState<DestinationDto | null>(null);
  const [tests, setTests] = useState<Record<string, DestinationTestDto>>({});
  const [browsing, setBrowsing] = useState<DestinationDto | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();

  const test = (destination: DestinationDto) =>
    startTransition(async () => {
      setError(null);
      const result = await testDestinationAction({ destinationId: destination.id });
      if (result.ok) {
        setTests((current) => ({ ...current, [destination.id]: result.data }));
        router.refresh();
      } else setError(result.error.message);
    });

  return (
    <Card
      title="Offsite destinations"
      actions={
        <Button variant="secondary" className="px-2.5 py-1 text-xs" onClick={() => setEditing("new")}>
          Add destination
        </Button>
      }
    >
      {destinations.length === 0 ? (
        <EmptyState testId="destinations-empty">
          No offsite destination yet. A set on the same disk as the data does not survive the disk: add a mounted folder or an SFTP server, and every verified
          set is copied there.
        </EmptyState>
      ) : (
        <DataTable columns={[{ label: "Destination" }, { label: "Status" }, { label: "Retention" }, { label: "Actions", srOnly: true }]}>
          {destinations.map((destination) => {
            const result = tests[destination.id];
            return (
              <tr key={destination.id} data-destination-id={destination.id} className="align-top">
                <td className="py-2 pr-4">
                  <div className="font-medium text-slate-900">{destination.name}</div>
                  <div className="text-xs text-slate-500">
                    {DESTINATION_KINDS[destination.kind].label} · {describeWhere(destination)}
                  </div>
                  <div className="mt-1 flex flex-wrap gap-1">
                    {!destination.enabled && <Badge>disabled</Badge>}
                    {destination.require_encrypted && <Badge tone="green">encrypted sets only</Badge>}
                    {destination.pinned_identity && (
                      <span className="font-mono text-[11px] text-slate-500" title="the server's host key, pinned on first contact">
                        {destination.pinned_identity}
                      </span>
                    )}
                  </div>
                </td>
                <td className="py-2 pr-4 text-xs">
                  {destination.last_failure ? (
                    <div className="max-w-sm text-red-700" role="status">
                      <Badge tone="red">copy failed</Badge> {destination.last_failure.backup_id}: {destination.last_failure.error}
                    </div>
                  ) : destination.last_success_at ? (
                    <div suppressHydrationWarning>
                      <Badge tone="green">copied</Badge> last {formatAge(destination.last_success_at)}
                    </div>
                  ) : (
                    <Badge>nothing copied yet</Badge>
                  )}
                  {destination.last_test && (
                    <div className="mt-1 text-slate-500" suppressHydrationWarning>
                      test {destination.last_test.ok ? "passed" : "failed"} {formatAge(destination.last_test.at)}
                    </div>
                  )}
                  {result && (
                    <ol className="mt-1 space-y-0.5" aria-label={`Test of ${destination.name}`}>
                      {result.steps.map((step) => (
                        <li key={step.step} className={step.ok ? "text-green-700" : "text-red-700"}>
                          {step.ok ? "✓" : "✗"} {step.step}
                          {step.error ? `: ${step.error}` : ""}
                        </li>
                      ))}
                    </ol>
                  )}
                </td>
                <td className="py-2 pr-4 text-xs text-slate-700">
                  {destination.keep_days === null ? "keep every copy" : `${destination.keep_days} days, at least ${destination.keep_min}`}
                </td>
                <td className="py-2">
                  <div className="flex flex-wrap justify-end gap-2">
                    <Button variant="secondary" className="px-2.5 py-1 text-xs" disabled={pending} onClick={() => test(destination)}>
                      Test
                    </Button>
                    <Button variant="secondary" className="px-2.5 py-1 text-xs" onClick={() => setBrowsing(destination)}>
                      Sets there…
                    </Button>
                    <Button variant="secondary" className="px-2.5 py-1 text-xs" onClick={() => setEditing(destination)}>
                      Edit
                    </Button>
                    <Button variant="danger" className="px-2.5 py-1 text-xs" onClick={() => setDeleting(destination)}>
                      Delete…
                    </Button>
                  </div>
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
      {error && (
        <p role="alert" className="mt-3 text-sm text-red-700">
          {error}
        </p>
      )}
      <p className="mt-4 text-xs text-slate-500">
        A set is copied to every enabled destination once it passed its restore drill, each file read back and compared with the manifest&apos;s sha256 before
        the copy counts; the manifest goes last. Credentials are stored encrypted with the key in <code>config/secret.key</code> (or{" "}
        <code>MIMIR_SECRET_KEY</code>) and are never shown again.
      </p>
      {editing && (
        <DestinationForm
          destination={editing === "new" ? null : editing}
          kinds={kinds}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            router.refresh();
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete destination ${deleting.name}?`}
          confirmLabel="Delete destination"
          onCancel={() => setDeleting(null)}
          onConfirm={(password) => deleteDestinationAction({ destinationId: deleting.id, reauth_password: password })}
          onDone={() => {
            setDeleting(null);
            router.refresh();
          }}
          consequences={
            <>
              Its settings, its stored credentials and the copy state of every set there are removed, and no new set is copied to it. The copies it already
              holds stay where they are, untouched: add the destination again to list and pull them.
            </>
          }
        />
      )}
      {browsing && <RemoteSets destination={browsing} onClose={() => setBrowsing(null)} onPulled={() => router.refresh()} />}
    </Card>
  );
}

function describeWhere(destination: DestinationDto): string {
  const s = destination.settings as Record<string, string | number | undefined>;
  if (destination.kind === "folder") return String(s.path ?? "");
  if (destination.kind === "sftp") return `${s.user}@${s.host}:${s.port}${s.folder ? `/${s.folder}` : ""}`;
  if (destination.kind === "s3") return `${s.bucket}${s.prefix ? `/${s.prefix}` : ""}`;
  return String(s.url ?? "");
}

interface Draft {
  kind: DestinationKind;
  name: string;
  enabled: boolean;
  require_encrypted: boolean;
  keep_days: string;
  keep_min: string;
  fields: Record<string, string | boolean>;
}

function draftOf(destination: DestinationDto | null, kind: DestinationKind): Draft {
  const fields = kindFieldValues(DESTINATION_KINDS[kind].fields, destination?.settings, false);
  return {
    kind,
    name: destination?.name ?? "",
    enabled: destination?.enabled ?? true,
    require_encrypted: destination?.require_encrypted ?? false,
    keep_days: destination?.keep_days ? String(destination.keep_days) : "",
    keep_min: String(destination?.keep_min ?? 3),
    fields,
  };
}

function DestinationForm({
  destination,
  kinds,
  onClose,
  onSaved,
}: {
  destination: DestinationDto | null;
  kinds: DestinationKind[];
  onClose: () => void;
  onSaved: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [draft, setDraft] = useState<Draft>(() => draftOf(destination, destination?.kind ?? kinds[0] ?? "folder"));
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  useEffect(() => {
    if (!dialog.current?.open) dialog.current?.showModal();
  }, []);
  const editing = destination !== null;
  const fields = DESTINATION_KINDS[draft.kind].fields;

  function submit() {
    setError(null);
    const { settings, secrets } = splitKindFields(fields, draft.fields);
    const common = {
      name: draft.name,
      enabled: draft.enabled,
      require_encrypted: draft.require_encrypted,
      keep_days: draft.keep_days ? Number(draft.keep_days) : null,
      keep_min: Number(draft.keep_min || 3),
    };
    startTransition(async () => {
      const result = editing
        ? await updateDestinationAction({ destinationId: destination.id, change: { ...common, settings, secrets } })
        : await createDestinationAction({ kind: draft.kind, ...common, settings, secrets } as Parameters<typeof createDestinationAction>[0]);
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
      title={editing ? `Edit destination '${destination.name}'` : "Add an offsite destination"}
      onClose={onClose}
      onSubmit={submit}
      error={error}
      pending={pending}
      canSubmit={draft.name.trim() !== ""}
      submitLabel={editing ? "Save destination" : "Add destination"}
    >
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <KindAndNameFields
          kinds={kinds.map((kind) => ({ kind, label: DESTINATION_KINDS[kind].label }))}
          kind={draft.kind}
          name={draft.name}
          fields={fields}
          values={draft.fields}
          editing={editing}
          storedSecrets={destination?.secrets_set ?? []}
          onKind={(kind) => setDraft({ ...draftOf(null, kind), name: draft.name })}
          onName={(name) => setDraft({ ...draft, name })}
          onField={(name, value) => setDraft({ ...draft, fields: { ...draft.fields, [name]: value } })}
        />
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Keep copies (days)</span>
          <input
            type="number"
            min={1}
            max={3650}
            value={draft.keep_days}
            placeholder="keep all"
            onChange={(e) => setDraft({ ...draft, keep_days: e.target.value })}
            className={FORM_INPUT}
          />
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Keep at least (sets)</span>
          <input
            type="number"
            min={1}
            max={1000}
            value={draft.keep_min}
            onChange={(e) => setDraft({ ...draft, keep_min: e.target.value })}
            className={FORM_INPUT}
          />
        </label>
      </div>
      <label className="flex items-center gap-2 text-sm text-slate-800">
        <input type="checkbox" checked={draft.require_encrypted} onChange={(e) => setDraft({ ...draft, require_encrypted: e.target.checked })} />
        Accept encrypted sets only
      </label>
      <label className="flex items-center gap-2 text-sm text-slate-800">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} />
        Enabled (copy every new verified set here)
      </label>
    </FormDialog>
  );
}

/** The sets a destination holds, each with Pull (into the backups folder, checked on arrival and verified). */
function RemoteSets({ destination, onClose, onPulled }: { destination: DestinationDto; onClose: () => void; onPulled: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [sets, setSets] = useState<RemoteSetDto[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pulls, setPulls] = useState<OperationDto[]>([]);
  const [pending, startTransition] = useTransition();
  useEffect(() => {
    if (!dialog.current?.open) dialog.current?.showModal();
    void listRemoteSetsAction({ destinationId: destination.id }).then((result) => (result.ok ? setSets(result.data) : setError(result.error.message)));
  }, [destination.id]);
  const pull = (set: RemoteSetDto) =>
    startTransition(async () => {
      setError(null);
      const result = await pullSetAction({ destinationId: destination.id, backupId: set.id });
      if (result.ok) setPulls((current) => [result.data, ...current]);
      else setError(result.error.message);
    });
  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      onClose={onClose}
      className="m-auto max-h-[calc(100dvh-2rem)] w-full max-w-[min(48rem,calc(100vw-2rem))] overflow-y-auto rounded-lg p-0 text-left shadow-xl backdrop:bg-slate-900/50"
    >
      <div className="space-y-4 p-4 sm:p-6">
        <h2 id={titleId} className="text-lg font-semibold text-slate-900">
          Sets at {destination.name}
        </h2>
        {sets === null && !error && <p className="text-sm text-slate-600">Listing…</p>}
        {sets?.length === 0 && <EmptyState testId="remote-sets-empty">This destination holds no backup set written by this product.</EmptyState>}
        {sets && sets.length > 0 && (
          <DataTable columns={[{ label: "Set" }, { label: "Size" }, { label: "State" }, { label: "Actions", srOnly: true }]}>
            {sets.map((set) => (
              <tr key={set.id} data-remote-set-id={set.id}>
                <td className="py-2 pr-4">
                  <div className="font-mono text-xs">{set.id}</div>
                  <div className="text-xs text-slate-500">{formatTimestamp(set.created_at)}</div>
                </td>
                <td className="py-2 pr-4 text-xs tabular-nums">{formatBytes(set.bytes)}</td>
                <td className="py-2 pr-4 text-xs">
                  {set.complete ? <Badge tone="green">complete</Badge> : <Badge tone="red">incomplete</Badge>}{" "}
                  {set.encrypted ? <Badge tone="green">encrypted</Badge> : <Badge>not encrypted</Badge>} {set.local && <Badge tone="blue">also here</Badge>}
                </td>
                <td className="py-2 text-right">
                  {!set.local && (
                    <Button variant="secondary" className="px-2.5 py-1 text-xs" disabled={pending || !set.complete} onClick={() => pull(set)}>
                      Pull
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
        {pulls.map((op) => (
          <FollowedOperation key={op.id} id={op.id} kind={op.kind} initial={op} onFinished={onPulled} canCancel={false} />
        ))}
        {error && (
          <p role="alert" className="text-sm text-red-700">
            {error}
          </p>
        )}
        <p className="text-xs text-slate-500">
          A pulled set is checked against its manifest as it arrives (a damaged object is refused), then verified; restore it from the list of sets.
        </p>
        <div className="flex justify-end">
          <Button type="button" variant="secondary" onClick={() => dialog.current?.close()}>
            Close
          </Button>
        </div>
      </div>
    </dialog>
  );
}
