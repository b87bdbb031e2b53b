import { Card } from "@/app/_components/ui/card";
import { formatAge, formatTimestamp } from "@/lib/format";
import type { InstanceDto } from "@/lib/instances/types";

/** The server instances sharing the database (one on SQLite), live first, with what each runs now. */
export function InstancesCard({ instances }: { instances: InstanceDto[] }) {
  const live = instances.filter((instance) => instance.stopped_at === null);
  return (
    <Card title="Instances" actions={<span className="text-xs text-slate-500">{`${live.length} live`}</span>}>
      {instances.length === 0 ? (
        <p className="text-sm text-slate-500">No instance has registered yet.</p>
      ) : (
        // Wider than a phone: the table scrolls inside the card, not the page.
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Instances">
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th className="py-1 pr-3 font-medium">Instance</th>
                <th className="py-1 pr-3 font-medium">Host</th>
                <th className="py-1 pr-3 font-medium">Version</th>
                <th className="py-1 pr-3 font-medium">Started</th>
                <th className="py-1 pr-3 font-medium">Last seen</th>
                <th className="py-1 font-medium">Runs now</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((instance) => (
                <tr key={instance.id} className="border-t border-slate-100 align-top">
                  <td className="py-1 pr-3 font-mono text-xs" title={instance.id}>
                    {instance.id.slice(0, 8)}
                    {instance.self && <span className="ml-1 font-sans text-slate-500">(this one)</span>}
                    {instance.stopped_at && <span className="ml-1 block font-sans text-red-700">{instance.stop_reason ?? "stopped"}</span>}
                  </td>
                  <td className="py-1 pr-3">{`${instance.host} · pid ${instance.pid}`}</td>
                  <td className="py-1 pr-3">{instance.version}</td>
                  <td className="py-1 pr-3" title={formatTimestamp(instance.started_at)}>
                    {formatAge(instance.started_at)}
                  </td>
                  <td className="py-1 pr-3" title={formatTimestamp(instance.last_seen)}>
                    {formatAge(instance.last_seen)}
                  </td>
                  <td className="py-1">
                    {instance.running.length === 0 ? (
                      <span className="text-slate-500">nothing</span>
                    ) : (
                      instance.running.map((item) => `${item.kind} ${item.label}`).join(", ")
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
