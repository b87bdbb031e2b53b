"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { Pager, usePagedList } from "@/app/_components/paged-list";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Button } from "@/app/_components/ui/button";
import { DataTable } from "@/app/_components/ui/data-table";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { ChannelForm } from "@/app/(dashboard)/settings/channel-form";
import { deleteChannelAction, testChannelAction } from "@/app/(dashboard)/settings/actions";
import { apiFetch } from "@/lib/api-client";
import { auditKeys } from "@/lib/audit/hooks";
import { formatTimestamp } from "@/lib/format";
import { CHANNEL_KINDS } from "@/lib/notify/channel-kinds";
import { EVENT_NAMES } from "@/lib/notify/events";
import { notifyKeys } from "@/lib/notify/hooks";
import type { ChannelDto, DeliveryDto, TestResultDto } from "@/lib/notify/types";
import type { Page } from "@/lib/pagination";

const LOG_PAGE = 20;

export function NotificationsPanel({ initialChannels, initialDeliveries }: { initialChannels: Page<ChannelDto>; initialDeliveries: Page<DeliveryDto> }) {
  const queryClient = useQueryClient();
  const router = useRouter();
  const channels = useQuery({
    queryKey: notifyKeys.channels,
    queryFn: ({ signal }) => apiFetch<Page<ChannelDto>>("/api/v1/notifications/channels", { signal }),
    initialData: initialChannels,
  });
  const log = usePagedList(notifyKeys.deliveries, `/api/v1/notifications/deliveries?limit=${LOG_PAGE}`, initialDeliveries);
  const [editing, setEditing] = useState<{ channel: ChannelDto | null } | null>(null);
  const [deleting, setDeleting] = useState<ChannelDto | null>(null);

  function refresh() {
    void queryClient.invalidateQueries({ queryKey: notifyKeys.channels });
    void queryClient.invalidateQueries({ queryKey: notifyKeys.deliveries });
    void queryClient.invalidateQueries({ queryKey: auditKeys.all });
    router.refresh();
  }

  const items = channels.data.items;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-600">
          Where backup failures, overdue backups, restores, storage alerts and job failures are sent. Secrets are stored encrypted and never shown again.
        </p>
        <Button type="button" onClick={() => setEditing({ channel: null })}>
          Add channel
        </Button>
      </div>
      {items.length === 0 ? (
        <EmptyState>No notification channels yet. Add one to hear about failed backups and jobs where you already look.</EmptyState>
      ) : (
        <DataTable columns={[{ label: "Name" }, { label: "Kind" }, { label: "Events" }, { label: "Last delivery" }, { label: "Actions", srOnly: true }]}>
          {items.map((channel) => (
            <tr key={channel.id} data-channel={channel.name}>
              <td className="py-2 pr-4 font-medium text-slate-800">
                {channel.name}
                {!channel.enabled && (
                  <span className="ml-2">
                    <Badge>disabled</Badge>
                  </span>
                )}
                {channel.from_config && <span className="ml-2 text-xs font-normal text-slate-500">(from the configuration)</span>}
              </td>
              <td className="py-2 pr-4 text-slate-700">{CHANNEL_KINDS[channel.kind].label}</td>
              <td className="py-2 pr-4 text-xs text-slate-600">
                {channel.events.length === EVENT_NAMES.length ? "all" : `${channel.events.length} of ${EVENT_NAMES.length}`}
                {channel.min_severity !== "info" ? `, ${channel.min_severity} and above` : ""}
                {channel.quiet_hours ? `, quiet ${channel.quiet_hours.start}–${channel.quiet_hours.end} UTC` : ""}
              </td>
              <td className="py-2 pr-4 text-xs">
                {channel.last_delivery ? (
                  <span className="flex flex-col gap-1">
                    <span>
                      <Badge tone={statusTone(channel.last_delivery.status)}>{channel.last_delivery.status}</Badge>{" "}
                      <span className="text-slate-500">{formatTimestamp(channel.last_delivery.at)}</span>
                    </span>
                    {channel.last_delivery.error && <span className="break-all text-red-700">{channel.last_delivery.error}</span>}
                  </span>
                ) : (
                  <span className="text-slate-400">none yet</span>
                )}
              </td>
              <td className="py-2 text-right">
                <span className="inline-flex flex-wrap justify-end gap-2">
                  <TestButton channel={channel} onDone={refresh} />
                  {!channel.from_config && (
                    <>
                      <Button type="button" variant="secondary" onClick={() => setEditing({ channel })}>
                        Edit
                      </Button>
                      <Button type="button" variant="secondary" onClick={() => setDeleting(channel)}>
                        Delete
                      </Button>
                    </>
                  )}
                </span>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <ChannelForm channel={editing?.channel ?? null} open={editing !== null} onClose={() => setEditing(null)} onSaved={refresh} />
      <ConfirmDialog
        open={deleting !== null}
        onCancel={() => setDeleting(null)}
        title={`Delete the channel '${deleting?.name ?? ""}'?`}
        consequences={<>Nothing more is sent there, and its stored secrets are gone. Its past deliveries stay in the log below.</>}
        confirmLabel="Delete channel"
        onConfirm={(reauth_password) => deleteChannelAction({ channelId: deleting?.id ?? "", reauth_password })}
        onDone={refresh}
      />
      <section aria-labelledby="delivery-log-title" className="space-y-2">
        <h3 id="delivery-log-title" className="text-sm font-semibold text-slate-900">
          Delivery log
        </h3>
        {log.items.length === 0 ? (
          <EmptyState>Nothing sent yet. Each notification and test appears here with every attempt.</EmptyState>
        ) : (
          <DataTable columns={[{ label: "When" }, { label: "Event" }, { label: "Channel" }, { label: "Status" }, { label: "Attempts" }, { label: "Error" }]}>
            {log.items.map((delivery) => (
              <tr key={delivery.id} data-delivery={delivery.id}>
                <td className="py-2 pr-4 text-xs text-slate-600">{formatTimestamp(delivery.created_at)}</td>
                <td className="py-2 pr-4 font-mono text-xs text-slate-700">
                  {delivery.event}
                  {delivery.reminder ? " (reminder)" : ""}
                </td>
                <td className="py-2 pr-4 text-slate-700">{delivery.channel_name}</td>
                <td className="py-2 pr-4">
                  <Badge tone={delivery.status === "pending" || delivery.status === "sending" ? "amber" : statusTone(delivery.status)}>{delivery.status}</Badge>
                  {delivery.next_attempt_at && <span className="ml-1 text-xs text-slate-500">next {formatTimestamp(delivery.next_attempt_at)}</span>}
                </td>
                <td className="py-2 pr-4 text-xs text-slate-600" title={delivery.attempt_log.map((a) => `${a.at}: ${a.error ?? "ok"}`).join("\n")}>
                  {delivery.attempts}
                </td>
                <td className="max-w-xs break-all py-2 text-xs text-red-700">{delivery.last_error}</td>
              </tr>
            ))}
          </DataTable>
        )}
        <Pager label="Delivery log" pageNumber={log.pageNumber} next={log.next} previous={log.previous} />
      </section>
    </div>
  );
}

/** Sends a test now and shows the outcome beside the button: "sent", or the receiver's exact refusal. */
function TestButton({ channel, onDone }: { channel: ChannelDto; onDone: () => void }) {
  const [result, setResult] = useState<TestResultDto | { status: "failed"; error: string } | null>(null);
  const [pending, startTransition] = useTransition();
  return (
    <span className="inline-flex items-center gap-2">
      <Button
        type="button"
        variant="secondary"
        disabled={pending}
        aria-label={`Test ${channel.name}`}
        onClick={() =>
          startTransition(async () => {
            setResult(null);
            const answer = await testChannelAction({ channelId: channel.id });
            setResult(answer.ok ? answer.data : { status: "failed", error: answer.error.message });
            onDone();
          })
        }
      >
        {pending ? "Testing…" : "Test"}
      </Button>
      {result && (
        <span role="status" className={`max-w-xs break-all text-left text-xs ${result.status === "sent" ? "text-emerald-700" : "text-red-700"}`}>
          {result.status === "sent" ? "sent" : `failed: ${result.error}`}
        </span>
      )}
    </span>
  );
}
