"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { Pager, usePagedList } from "@/app/_components/paged-list";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { Badge } from "@/app/_components/ui/badge";
import { Button } from "@/app/_components/ui/button";
import { createTokenAction, revokeTokenAction } from "@/app/(dashboard)/settings/actions";
import { auditKeys } from "@/lib/audit/hooks";
import { authKeys } from "@/lib/auth/hooks";
import type { Scope } from "@/lib/auth/scopes";
import type { ApiTokenDto, CreatedApiTokenDto } from "@/lib/auth/types";
import { formatTimestamp } from "@/lib/format";
import type { Page } from "@/lib/pagination";
import { DataTable } from "@/app/_components/ui/data-table";

const EXPIRY_CHOICES = [
  { label: "Never (until revoked)", value: "" },
  { label: "7 days", value: "7" },
  { label: "30 days", value: "30" },
  { label: "90 days", value: "90" },
  { label: "1 year", value: "365" },
];

export function TokensPanel({ initialData }: { initialData: Page<ApiTokenDto> }) {
  const queryClient = useQueryClient();
  const router = useRouter();
  const list = usePagedList(authKeys.tokens, "/api/v1/tokens?limit=20", initialData);
  const [created, setCreated] = useState<CreatedApiTokenDto | null>(null);
  const [draft, setDraft] = useState<{ name: string; scope: Scope; expires_in_days: string }>({ name: "", scope: "read", expires_in_days: "" });

  function refresh() {
    void queryClient.invalidateQueries({ queryKey: authKeys.tokens });
    void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    router.refresh();
  }

  return (
    <div className="space-y-4">
      {created && <CreatedToken token={created} onDismiss={() => setCreated(null)} />}
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-[1fr_auto_auto_auto] sm:items-end">
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Token name</span>
          <input
            value={draft.name}
            onChange={(e) => setDraft({ ...draft, name: e.target.value })}
            maxLength={100}
            placeholder="nightly-backup-script"
            className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15"
          />
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Scope</span>
          <select
            value={draft.scope}
            onChange={(e) => setDraft({ ...draft, scope: e.target.value as Scope })}
            className="mt-1 block rounded-md border border-slate-300 px-3 py-2 text-sm"
          >
            <option value="read">read</option>
            <option value="write">write</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Expires</span>
          <select
            value={draft.expires_in_days}
            onChange={(e) => setDraft({ ...draft, expires_in_days: e.target.value })}
            className="mt-1 block rounded-md border border-slate-300 px-3 py-2 text-sm"
          >
            {EXPIRY_CHOICES.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        <ConfirmDialog
          triggerLabel="Create token"
          triggerVariant="primary"
          disabled={draft.name.trim() === ""}
          title={`Create the ${draft.scope} token '${draft.name.trim()}'?`}
          consequences={
            <>
              Whoever holds this token can use the API with the <strong>{draft.scope}</strong> scope
              {draft.scope === "admin" ? ", including restore, reset, downloads and user management" : ""}
              {draft.expires_in_days ? ` for ${draft.expires_in_days} days` : " until it is revoked"}. It is shown once.
            </>
          }
          confirmLabel="Create token"
          onConfirm={(reauth_password) => createTokenAction({ ...draft, reauth_password })}
          onDone={(token) => {
            setCreated(token);
            setDraft({ name: "", scope: "read", expires_in_days: "" });
            refresh();
          }}
        />
      </div>
      {list.items.length === 0 ? (
        <EmptyState>No API tokens yet. Create one for each script that calls the API.</EmptyState>
      ) : (
        <DataTable
          columns={[
            { label: "Name" },
            { label: "Token" },
            { label: "Scope" },
            { label: "Created" },
            { label: "Expires" },
            { label: "Last used" },
            { label: "Actions", srOnly: true },
          ]}
        >
          {list.items.map((token) => (
            <tr key={token.id} data-token={token.name}>
              <td className="py-2 pr-4 font-medium text-slate-800">{token.name}</td>
              <td className="py-2 pr-4 font-mono text-xs text-slate-500">{token.prefix}…</td>
              <td className="py-2 pr-4">
                <Badge tone={token.scope === "admin" ? "amber" : "slate"}>{token.scope}</Badge>
              </td>
              <td className="py-2 pr-4 text-xs text-slate-600">
                {formatTimestamp(token.created_at)}
                {token.created_by ? ` by ${token.created_by}` : ""}
              </td>
              <td className="py-2 pr-4 text-xs text-slate-600">{token.expires_at ? formatTimestamp(token.expires_at) : "never"}</td>
              <td className="py-2 pr-4 text-xs text-slate-600">{token.last_used_at ? formatTimestamp(token.last_used_at) : "never"}</td>
              <td className="py-2 text-right">
                <ConfirmDialog
                  triggerLabel="Revoke"
                  triggerVariant="secondary"
                  title={`Revoke the token '${token.name}'?`}
                  consequences={
                    <>
                      Scripts using <code className="font-mono text-xs">{token.prefix}…</code> get 401 from their next request. A revoked token cannot be
                      brought back; make a new one instead.
                    </>
                  }
                  confirmLabel="Revoke token"
                  onConfirm={(reauth_password) => revokeTokenAction({ tokenId: token.id, reauth_password })}
                  onDone={refresh}
                />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Pager label="Tokens" pageNumber={list.pageNumber} next={list.next} previous={list.previous} />
    </div>
  );
}

function CreatedToken({ token, onDismiss }: { token: CreatedApiTokenDto; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div role="status" className="rounded-md border border-emerald-300 bg-emerald-50 p-4 text-sm">
      <p className="font-medium text-emerald-900">Token &lsquo;{token.name}&rsquo; created. Copy it now: it is shown this once and stored only as a hash.</p>
      <div className="mt-2 flex items-center gap-2">
        <code data-testid="new-token" className="block flex-1 break-all rounded bg-white px-3 py-2 font-mono text-xs text-slate-900 ring-1 ring-emerald-200">
          {token.token}
        </code>
        <Button
          type="button"
          variant="secondary"
          onClick={async () => {
            await navigator.clipboard.writeText(token.token);
            setCopied(true);
          }}
        >
          {copied ? "Copied" : "Copy"}
        </Button>
        <Button type="button" variant="secondary" onClick={onDismiss}>
          Done
        </Button>
      </div>
      <p className="mt-2 text-xs text-emerald-900">
        Use it as <code className="font-mono">Authorization: Bearer {token.prefix}…</code>
      </p>
    </div>
  );
}
