"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { Pager, usePagedList } from "@/app/_components/paged-list";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { Badge } from "@/app/_components/ui/badge";
import { createUserAction, deleteUserAction, updateUserAction } from "@/app/(dashboard)/settings/actions";
import { auditKeys } from "@/lib/audit/hooks";
import { authKeys } from "@/lib/auth/hooks";
import type { UserDto } from "@/lib/auth/types";
import { formatTimestamp } from "@/lib/format";
import type { Page } from "@/lib/pagination";
import { DataTable } from "@/app/_components/ui/data-table";
import { createUserInput } from "@/lib/auth/inputs";

const inputClass =
  "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15";

export function UsersPanel({ initialData, currentUserId }: { initialData: Page<UserDto>; currentUserId: string }) {
  const queryClient = useQueryClient();
  const router = useRouter();
  const list = usePagedList(authKeys.users, "/api/v1/users?limit=20", initialData);
  const [draft, setDraft] = useState({ username: "", password: "", role: "viewer" as "viewer" | "admin" });
  // Checked as it is typed, with the server's own schema: the confirmation (which asks for *your*
  // password) opens only once the new user's fields are right, so no message there is mistaken for yours.
  const draftProblems = problemsOf(draft);
  const [added, setAdded] = useState<string | null>(null);

  function refresh() {
    void queryClient.invalidateQueries({ queryKey: authKeys.users });
    void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    router.refresh();
  }

  return (
    <div className="space-y-4">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-[1fr_1fr_auto_auto] sm:items-end">
        <label className="block text-sm">
          <span className="font-medium text-slate-700">New user name</span>
          <input
            value={draft.username}
            onChange={(e) => setDraft({ ...draft, username: e.target.value })}
            maxLength={64}
            autoComplete="off"
            className={inputClass}
          />
          {draftProblems.username && <span className="mt-1 block text-xs text-red-700">{draftProblems.username}</span>}
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Their password</span>
          <input
            type="password"
            value={draft.password}
            onChange={(e) => setDraft({ ...draft, password: e.target.value })}
            autoComplete="new-password"
            placeholder="at least 12 characters"
            className={inputClass}
          />
          {draftProblems.password && <span className="mt-1 block text-xs text-red-700">{draftProblems.password}</span>}
        </label>
        <label className="block text-sm">
          <span className="font-medium text-slate-700">Role</span>
          <select
            value={draft.role}
            onChange={(e) => setDraft({ ...draft, role: e.target.value as "viewer" | "admin" })}
            className="mt-1 block rounded-md border border-slate-300 px-3 py-2 text-sm"
          >
            <option value="viewer">viewer (read-only)</option>
            <option value="admin">admin (everything)</option>
          </select>
        </label>
        <ConfirmDialog
          triggerLabel="Add user"
          triggerVariant="primary"
          disabled={draft.username.trim() === "" || draft.password === "" || Object.keys(draftProblems).length > 0}
          title={`Add the ${draft.role} '${draft.username.trim()}'?`}
          consequences={
            draft.role === "admin" ? (
              <>An admin can do everything, including restore, reset, downloads and managing users and tokens.</>
            ) : (
              <>A viewer can see every page but change nothing.</>
            )
          }
          confirmLabel="Add user"
          onConfirm={(reauth_password) => createUserAction({ ...draft, reauth_password })}
          onDone={(user) => {
            setAdded(user.username);
            setDraft({ username: "", password: "", role: "viewer" });
            refresh();
          }}
        />
      </div>
      {added && (
        <p role="status" className="text-sm text-emerald-800">
          Added &lsquo;{added}&rsquo;. They can sign in now.
        </p>
      )}
      {list.items.length === 0 ? (
        <EmptyState>No users.</EmptyState>
      ) : (
        <DataTable columns={[{ label: "User" }, { label: "Role" }, { label: "Since" }, { label: "Status" }, { label: "Actions", srOnly: true }]}>
          {list.items.map((user) => (
            <tr key={user.id} data-user={user.username}>
              <td className="py-2 pr-4 font-medium text-slate-800">
                {user.username}
                {user.id === currentUserId && <span className="ml-1 text-xs font-normal text-slate-500">(you)</span>}
              </td>
              <td className="py-2 pr-4">
                <Badge tone={user.role === "admin" ? "amber" : "slate"}>{user.role}</Badge>
              </td>
              <td className="py-2 pr-4 text-xs text-slate-600">{formatTimestamp(user.created_at)}</td>
              <td className="py-2 pr-4">{user.disabled_at ? <Badge tone="red">disabled</Badge> : <Badge tone="green">active</Badge>}</td>
              <td className="py-2 text-right">
                {user.id !== currentUserId && (
                  <div className="flex justify-end gap-2">
                    <ConfirmDialog
                      triggerLabel={user.disabled_at ? "Enable" : "Disable"}
                      triggerVariant="secondary"
                      title={`${user.disabled_at ? "Enable" : "Disable"} '${user.username}'?`}
                      consequences={
                        user.disabled_at ? (
                          <>&lsquo;{user.username}&rsquo; can sign in again with their old password.</>
                        ) : (
                          <>&lsquo;{user.username}&rsquo; is signed out everywhere at once and cannot sign in until enabled again.</>
                        )
                      }
                      confirmLabel={user.disabled_at ? "Enable" : "Disable"}
                      onConfirm={(reauth_password) => updateUserAction({ userId: user.id, change: { disabled: !user.disabled_at }, reauth_password })}
                      onDone={refresh}
                    />
                    <ConfirmDialog
                      triggerLabel="Delete"
                      title={`Delete the user '${user.username}'?`}
                      consequences={
                        <>
                          The account and its sessions are deleted for good; &lsquo;{user.username}&rsquo; is signed out at once. The audit log keeps what they
                          did.
                        </>
                      }
                      confirmLabel="Delete user"
                      requirePhrase={user.username}
                      onConfirm={(reauth_password) => deleteUserAction({ userId: user.id, reauth_password })}
                      onDone={refresh}
                    />
                  </div>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Pager label="Users" pageNumber={list.pageNumber} next={list.next} previous={list.previous} />
    </div>
  );
}

/** The first problem of each typed field of a new user (an empty field is not a problem yet). */
function problemsOf(draft: { username: string; password: string; role: string }): Partial<Record<"username" | "password", string>> {
  const parsed = createUserInput.safeParse(draft);
  if (parsed.success) return {};
  const problems: Partial<Record<"username" | "password", string>> = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if ((field === "username" || field === "password") && draft[field] !== "") problems[field] ??= issue.message;
  }
  return problems;
}
