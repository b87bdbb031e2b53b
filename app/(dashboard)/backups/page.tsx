import Link from "next/link";
import cronstrue from "cronstrue";
import { Badge } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { listAtLinkCursor, requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { findFailedLatestBackup, listBackupPageOperations } from "@/lib/backups/page-operations";
import { getScheduledBackups } from "@/lib/backups/schedule";
import { listBackupsWithCopies } from "@/lib/offsite/catalog";
import { listDestinations } from "@/lib/offsite/destinations";
import { availableKinds } from "@/lib/offsite/registry";
import { DestinationsPanel } from "./destinations-panel";
import { BackupsPanel } from "./backups-panel";
import { ScheduledBackupsSwitch } from "./scheduled-backups-switch";

export const dynamic = "force-dynamic";
export const metadata = { title: "Backups" };

/** Sets per page of the list. */
const PAGE_SIZE = 20;

export default async function BackupsPage({ searchParams }: { searchParams: Promise<{ cursor?: string }> }) {
  const principal = await requirePagePrincipal("read");
  const search = await searchParams;
  const cursor = search.cursor;
  const canAdmin = scopeAllows(principal.scope, "admin");
  const [page, running, failedBackup, { settings, jobs }, destinations] = await Promise.all([
    listAtLinkCursor("/backups", search, (cursor) => listBackupsWithCopies({ limit: PAGE_SIZE, cursor })),
    listBackupPageOperations(principal),
    findFailedLatestBackup(),
    getScheduledBackups(),
    listDestinations(),
  ]);
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
        offsiteEnabled={destinations.some((destination) => destination.enabled)}
        cursor={cursor ?? null}
        pageSize={PAGE_SIZE}
        running={running}
        failedBackup={failedBackup}
        canWrite={scopeAllows(principal.scope, "write")}
        canAdmin={canAdmin}
      />
      {/* Destinations hold credentials: admins only; everyone sees each set's copy state in the list. */}
      {canAdmin && (
        <div className="mt-6">
          <DestinationsPanel destinations={destinations} kinds={availableKinds()} />
        </div>
      )}
      <Card title="Schedule and encryption" className="mt-6">
        <dl className="grid grid-cols-1 gap-x-8 gap-y-3 text-sm sm:grid-cols-2">
          <Setting label="Scheduled backups">
            <ScheduledBackupsSwitch enabled={settings.enabled} envVariable={settings.enabled_by_env} canAdmin={canAdmin} />
          </Setting>
          <Setting label="Jobs">
            <ul className="space-y-1" data-testid="scheduled-backup-jobs">
              {jobs.map((job) => (
                <li key={job.id} data-job-id={job.id} className="flex items-center gap-2">
                  {job.enabled === null ? (
                    <span className="text-slate-500">{job.name}</span>
                  ) : (
                    <Link href={`/jobs/${job.id}`} className="text-sky-700 underline">
                      {job.name}
                    </Link>
                  )}
                  <Badge tone={job.enabled ? "green" : job.enabled === null ? "amber" : "slate"}>
                    {job.enabled ? "enabled" : job.enabled === null ? "deleted" : "disabled"}
                  </Badge>
                </li>
              ))}
            </ul>
          </Setting>
          <Setting label="Backup">
            <code className="text-xs">{settings.schedule}</code> <span className="text-slate-500">({describeCron(settings.schedule)})</span>
          </Setting>
          <Setting label="Prune">
            <code className="text-xs">{settings.prune_schedule}</code> <span className="text-slate-500">({describeCron(settings.prune_schedule)})</span>, keep{" "}
            {settings.keep_days} days, at least {settings.keep_min} sets
          </Setting>
          <Setting label="Verify all sets">
            <code className="text-xs">{settings.verify_schedule}</code> <span className="text-slate-500">({describeCron(settings.verify_schedule)})</span>
          </Setting>
          <Setting label="Encryption">
            <Badge tone={settings.encrypted ? "green" : "amber"}>{settings.encrypted ? "on: OpenPGP AES-256" : "off"}</Badge>
          </Setting>
          <Setting label="Backup folder">
            <code className="break-all text-xs">{settings.folder}</code>
          </Setting>
        </dl>
        <p className="mt-4 text-xs text-slate-500">
          Scheduled backups are the three jobs above. Turning them on or off (admins: here, on the Settings page, or with{" "}
          <code>PUT /api/v1/backups/schedule</code>) switches those jobs and saves <code>persistence.backup_enabled</code> to config.yaml, so the choice
          survives a restart; <code>MIMIR_BACKUP_ENABLED</code> in the environment overrides it. While they are on, <code>/health</code> reports degraded when
          the latest backup failed or the newest set is older than the schedule allows. Turning them off deletes no set. Change times under{" "}
          <code>backups:</code>. Encryption is on when <code>MIMIR_BACKUP_PASSPHRASE</code> or <code>backups.passphrase_file</code> is set; the passphrase is
          never stored by this console, so keep it somewhere safe: without it an encrypted set cannot be opened.
        </p>
      </Card>
    </>
  );
}

function Setting({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="flex flex-col gap-1 sm:flex-row sm:items-baseline sm:gap-3">
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
