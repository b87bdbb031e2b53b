import Link from "next/link";
import cronstrue from "cronstrue";
import { Badge } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { getBackupSettings, listBackups, listRunningBackupOperations } from "@/lib/backups/service";
import { BackupsPanel } from "./backups-panel";

export const dynamic = "force-dynamic";
export const metadata = { title: "Backups" };

/** Sets per page of the list. */
const PAGE_SIZE = 20;

export default async function BackupsPage({ searchParams }: { searchParams: Promise<{ cursor?: string }> }) {
  const principal = await requirePagePrincipal("read");
  const { cursor } = await searchParams;
  const [page, running] = await Promise.all([listBackups({ limit: PAGE_SIZE, cursor }), listRunningBackupOperations()]);
  const settings = getBackupSettings();
  return (
    <>
      <PageHeader
        title="Backups"
        description={
          <>
            Each set holds one archive per volume and a manifest, is verified by a restore drill right after it is written, and opens with stock{" "}
            <code className="text-xs">tar</code> and <code className="text-xs">gpg</code>.{" "}
            <Link href="/backups/recovery" className="font-medium text-sky-700 underline">
              Recovery without the app
            </Link>
          </>
        }
      />
      <BackupsPanel
        page={page}
        cursor={cursor ?? null}
        pageSize={PAGE_SIZE}
        running={running}
        canWrite={scopeAllows(principal.scope, "write")}
        canAdmin={scopeAllows(principal.scope, "admin")}
      />
      <Card title="Schedule and encryption" className="mt-6">
        <dl className="grid grid-cols-1 gap-x-8 gap-y-3 text-sm sm:grid-cols-2">
          <Setting label="Scheduled backups">
            <Badge tone={settings.enabled ? "green" : "slate"}>{settings.enabled ? "on" : "off"}</Badge>
          </Setting>
          <Setting label="Backup">
            <code className="text-xs">{settings.schedule}</code> <span className="text-slate-500">({describeCron(settings.schedule)})</span>
          </Setting>
          <Setting label="Prune">
            <code className="text-xs">{settings.pruneSchedule}</code> <span className="text-slate-500">({describeCron(settings.pruneSchedule)})</span>, keep {settings.keepDays} days, at least {settings.keepMin} sets
          </Setting>
          <Setting label="Verify all sets">
            <code className="text-xs">{settings.verifySchedule}</code> <span className="text-slate-500">({describeCron(settings.verifySchedule)})</span>
          </Setting>
          <Setting label="Encryption">
            <Badge tone={settings.encrypted ? "green" : "amber"}>{settings.encrypted ? "on: OpenPGP AES-256" : "off"}</Badge>
          </Setting>
          <Setting label="Backup folder">
            <code className="break-all text-xs">{settings.folder}</code>
          </Setting>
        </dl>
        <p className="mt-4 text-xs text-slate-500">
          Turn scheduled backups on with <code>persistence.backup_enabled: true</code> in config.yaml (or <code>MIMIR_BACKUP_ENABLED=true</code>); change times
          under <code>backups:</code>. Encryption is on when <code>MIMIR_BACKUP_PASSPHRASE</code> or <code>backups.passphrase_file</code> is set; the passphrase
          is never stored by this console, so keep it somewhere safe: without it an encrypted set cannot be opened.
        </p>
      </Card>
    </>
  );
}

function Setting({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="flex items-baseline gap-3">
      <dt className="w-36 shrink-0 text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="text-slate-800">{children}</dd>
    </div>
  );
}

function describeCron(expression: string): string {
  try {
    return cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return "custom";
  }
}
