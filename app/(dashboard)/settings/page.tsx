import { Badge } from "@/app/_components/ui/badge";
import { DataTable } from "@/app/_components/ui/data-table";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { AuditPanel } from "@/app/(dashboard)/settings/audit-panel";
import { ConfigForm } from "@/app/(dashboard)/settings/config-form";
import { TokensPanel } from "@/app/(dashboard)/settings/tokens-panel";
import { UsersPanel } from "@/app/(dashboard)/settings/users-panel";
import { NotificationsPanel } from "@/app/(dashboard)/settings/notifications-panel";
import { listAuditLog } from "@/lib/audit/service";
import { scopeAllows } from "@/lib/auth/scopes";
import { listApiTokens } from "@/lib/auth/tokens";
import { listUsers } from "@/lib/auth/users";
import { getConfigView } from "@/lib/config/edit";
import { getEffectiveConfig, type EffectiveSetting } from "@/lib/config/effective";
import { getConfig } from "@/lib/config/service";
import { requirePagePrincipal } from "@/lib/pages";
import { listChannels, listDeliveries } from "@/lib/notify/service";

export const dynamic = "force-dynamic";
export const metadata = { title: "Settings" };

export default async function SettingsPage() {
  const principal = await requirePagePrincipal("read");
  const config = getEffectiveConfig();
  // Token, user and audit lists and the edit form are admin-only: a viewer's page never carries them.
  const admin = scopeAllows(principal.scope, "admin")
    ? {
        view: getConfigView(),
        tokens: await listApiTokens({ limit: 20, include_inactive: false }),
        users: await listUsers({ limit: 20 }),
        audit: await listAuditLog({ limit: 25 }),
        channels: { items: await listChannels(), next_cursor: null },
        deliveries: await listDeliveries({ limit: 20 }),
      }
    : null;
  return (
    <>
      <PageHeader
        title="Settings"
        description={
          <>
            The effective configuration: defaults, overridden by <code className="text-xs">{config.configFile}</code>
            {config.configFileExists ? "" : " (not present, so defaults apply)"}, overridden by <code className="text-xs">MIMIR_*</code> environment variables.{" "}
            {admin
              ? "Admins change the runtime overrides below; each says whether it applies at once or after a restart."
              : "Only an admin can change settings."}
          </>
        }
      />
      <div className="space-y-6">
        {admin && (
          <Card title="Runtime overrides">
            <ConfigForm view={admin.view} />
          </Card>
        )}
        <Card title="Effective configuration">
          <DataTable columns={[{ label: "Key" }, { label: "Value" }, { label: "Source" }]}>
            {config.settings.map((setting) => (
              <tr key={setting.key} data-key={setting.key}>
                <td className="py-2 pr-4 font-mono text-xs text-slate-700">{setting.key}</td>
                <td className="max-w-md break-all py-2 pr-4 font-mono text-xs">
                  {setting.value === "" ? <span className="text-slate-500">(empty)</span> : setting.value}
                </td>
                <td className="py-2">
                  <SourceBadge source={setting.source} />
                </td>
              </tr>
            ))}
          </DataTable>
        </Card>
        <Card title="Secrets">
          <ul className="divide-y divide-slate-100 text-sm">
            {config.secrets.map((secret) => (
              <li key={secret.name} className="flex items-center justify-between py-2">
                <span>
                  {secret.name} <span className="text-xs text-slate-500">({secret.variable})</span>
                </span>
                <Badge tone={secret.set ? "green" : "slate"}>{secret.set ? "set" : "not set"}</Badge>
              </li>
            ))}
          </ul>
        </Card>
        {admin && (
          <>
            <div id="notifications" className="scroll-mt-6">
              <Card title="Notifications">
                <NotificationsPanel initialChannels={admin.channels} initialDeliveries={admin.deliveries} />
              </Card>
            </div>
            <Card title="API tokens">
              <TokensPanel initialData={admin.tokens} />
            </Card>
            <Card title="Users">
              <UsersPanel initialData={admin.users} currentUserId={principal.id} />
            </Card>
            <Card title="Audit log">
              <AuditPanel initialData={admin.audit} retentionDays={getConfig().values.audit.retention_days} />
            </Card>
          </>
        )}
        {config.unknownKeys.length > 0 && (
          <Card title="Keys in config.yaml this console does not read">
            <p className="mb-2 text-sm text-slate-600">Kept in the file for Mimir AIP itself; check them for typos if you meant to set a console setting.</p>
            <ul className="font-mono text-xs text-slate-700">
              {config.unknownKeys.map((key) => (
                <li key={key}>{key}</li>
              ))}
            </ul>
          </Card>
        )}
      </div>
    </>
  );
}

function SourceBadge({ source }: { source: EffectiveSetting["source"] }) {
  if (source.kind === "env") return <Badge tone="blue">environment {source.variable}</Badge>;
  if (source.kind === "file") return <Badge tone="green">file {source.file}</Badge>;
  return <Badge>default</Badge>;
}
