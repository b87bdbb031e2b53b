import { z } from "zod";

/** Ordered: a channel's minimum severity lets through its own level and those after it. */
export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * How an event relates to an ongoing problem: `raise` starts or repeats one (throttled to a reminder
 * every few hours), `clear` ends it (sent only to channels told about the raise), `once` stands alone.
 */
export type ProblemRole = { role: "raise"; key: string } | { role: "clear"; key: string } | { role: "once" };

interface EventDefinition<S extends z.ZodObject> {
  severity: Severity;
  description: string;
  payload: S;
  problem: (payload: z.output<S>) => ProblemRole;
  title: (payload: z.output<S>) => string;
  text: (payload: z.output<S>) => string;
  /** the console page that shows the problem, relative to server.public_url */
  page: (payload: z.output<S>) => string;
}

const define = <S extends z.ZodObject>(definition: EventDefinition<S>) => definition;

const backupProblem = { role: "raise", key: "backup" } as const;
const jobKey = (jobId: string) => `job:${jobId}`;
const storageKey = (alert: string) => `storage:${alert}`;
const offsiteKey = (destinationId: string) => `offsite:${destinationId}`;

/**
 * Every event the notifier sends: a stable name, a payload schema (what a webhook receives under
 * `data`), a severity, and the words of the message. The README and the OpenAPI document list them.
 */
export const EVENTS = {
  "backup.failed": define({
    severity: "critical",
    description: "A backup (scheduled or started by hand) failed",
    payload: z.object({
      operation_id: z.string(),
      trigger: z.string(),
      reason: z.string(),
      /** the newest complete set on disk, the one a restore would use now */
      last_good_backup_id: z.string().nullable(),
    }),
    problem: () => backupProblem,
    title: () => "Backup failed",
    text: (p) => `A ${p.trigger} backup failed: ${p.reason}. Newest good set: ${p.last_good_backup_id ?? "none"}.`,
    page: () => "/backups",
  }),
  "backup.stale": define({
    severity: "warning",
    description: "Scheduled backups are on but the newest set is older than the schedule allows (or there is none)",
    payload: z.object({ reason: z.string(), newest_backup_id: z.string().nullable() }),
    problem: () => backupProblem,
    title: () => "No recent backup",
    text: (p) => `Backups are overdue: ${p.reason}.`,
    page: () => "/backups",
  }),
  "backup.recovered": define({
    severity: "info",
    description: "A backup succeeded after a failed or overdue one",
    payload: z.object({ backup_id: z.string(), operation_id: z.string() }),
    problem: () => ({ role: "clear", key: "backup" }),
    title: () => "Backups are working again",
    text: (p) => `Backup set ${p.backup_id} was written and verified.`,
    page: () => "/backups",
  }),
  "verify.failed": define({
    severity: "critical",
    description: "The restore drill found one or more backup sets that would not restore",
    payload: z.object({ failed: z.array(z.object({ id: z.string(), error: z.string() })) }),
    problem: () => ({ role: "once" }),
    title: () => "Backup verification failed",
    text: (p) => `These sets failed the restore drill: ${p.failed.map((f) => `${f.id} (${f.error})`).join("; ")}.`,
    page: () => "/backups",
  }),
  "restore.finished": define({
    severity: "info",
    description: "A restore finished and the restored data is live",
    payload: z.object({ backup_id: z.string(), operation_id: z.string(), volumes: z.array(z.string()), safety_backup_id: z.string().nullable() }),
    problem: () => ({ role: "once" }),
    title: () => "Restore finished",
    text: (p) => `Set ${p.backup_id} was restored (${p.volumes.join(", ")}). The state before it is in set ${p.safety_backup_id ?? "(no safety set)"}.`,
    page: () => "/backups",
  }),
  "restore.failed": define({
    severity: "critical",
    description: "A restore failed and was rolled back",
    payload: z.object({ backup_id: z.string(), operation_id: z.string(), reason: z.string() }),
    problem: () => ({ role: "once" }),
    title: () => "Restore failed",
    text: (p) => `Restoring set ${p.backup_id} failed and was rolled back: ${p.reason}.`,
    page: () => "/backups",
  }),
  "storage.alert_raised": define({
    severity: "warning",
    description: "A storage alert was raised (volume size, free disk, disk full projection)",
    payload: z.object({ alert: z.string(), message: z.string(), value: z.number(), raise_at: z.number(), clear_at: z.number() }),
    problem: (p) => ({ role: "raise", key: storageKey(p.alert) }),
    title: () => "Storage alert",
    text: (p) => p.message,
    page: () => "/storage",
  }),
  "storage.alert_cleared": define({
    severity: "info",
    description: "A storage alert cleared",
    payload: z.object({ alert: z.string(), message: z.string(), value: z.number(), raise_at: z.number(), clear_at: z.number() }),
    problem: (p) => ({ role: "clear", key: storageKey(p.alert) }),
    title: () => "Storage alert cleared",
    text: (p) => p.message,
    page: () => "/storage",
  }),
  "job.failed": define({
    severity: "warning",
    description: "A job failed as many times in a row as its threshold (1 unless set per job)",
    payload: z.object({
      job_id: z.string(),
      job_name: z.string(),
      execution_id: z.string(),
      consecutive_failures: z.number().int(),
      threshold: z.number().int(),
      reason: z.string(),
    }),
    problem: (p) => ({ role: "raise", key: jobKey(p.job_id) }),
    title: (p) => `Job '${p.job_name}' failed`,
    text: (p) => `Job '${p.job_name}' failed ${p.consecutive_failures} time(s) in a row: ${p.reason}`,
    page: (p) => `/jobs/${encodeURIComponent(p.job_id)}`,
  }),
  "job.recovered": define({
    severity: "info",
    description: "A job that had been reported failing succeeded",
    payload: z.object({ job_id: z.string(), job_name: z.string(), execution_id: z.string() }),
    problem: (p) => ({ role: "clear", key: jobKey(p.job_id) }),
    title: (p) => `Job '${p.job_name}' recovered`,
    text: (p) => `Job '${p.job_name}' succeeded again.`,
    page: (p) => `/jobs/${encodeURIComponent(p.job_id)}`,
  }),
  "database.integrity_problem": define({
    severity: "critical",
    description: "An integrity check found the database damaged",
    payload: z.object({ problems: z.array(z.string()), operation_id: z.string().nullable() }),
    problem: () => ({ role: "once" }),
    title: () => "Database integrity problem",
    text: (p) => `The integrity check reported: ${p.problems.slice(0, 5).join("; ")}${p.problems.length > 5 ? ` (and ${p.problems.length - 5} more)` : ""}.`,
    page: () => "/database",
  }),
  "offsite.failed": define({
    severity: "critical",
    description: "Copying a set to an offsite destination failed (after its retries)",
    payload: z.object({
      destination_id: z.string(),
      destination: z.string(),
      backup_id: z.string(),
      reason: z.string(),
      operation_id: z.string().nullable(),
    }),
    problem: (p) => ({ role: "raise", key: offsiteKey(p.destination_id) }),
    title: (p) => `Offsite copy to ${p.destination} failed`,
    text: (p) => `Backup ${p.backup_id} could not be copied to ${p.destination}: ${p.reason}.`,
    page: () => "/backups",
  }),
  "offsite.stale": define({
    severity: "warning",
    description: "The newest offsite copy at a destination is older than the backup schedule allows",
    payload: z.object({ destination_id: z.string(), destination: z.string(), reason: z.string() }),
    problem: (p) => ({ role: "raise", key: offsiteKey(p.destination_id) }),
    title: (p) => `Offsite copies to ${p.destination} are overdue`,
    text: (p) => `Offsite copies are overdue: ${p.reason}.`,
    page: () => "/backups",
  }),
  "offsite.recovered": define({
    severity: "info",
    description: "A set was copied to a destination that had been reported failing or overdue",
    payload: z.object({ destination_id: z.string(), destination: z.string(), backup_id: z.string() }),
    problem: (p) => ({ role: "clear", key: offsiteKey(p.destination_id) }),
    title: (p) => `Offsite copies to ${p.destination} work again`,
    text: (p) => `Backup ${p.backup_id} was copied to ${p.destination} and proven intact there.`,
    page: () => "/backups",
  }),
  "instance.lost": define({
    severity: "warning",
    description: "An instance of a deployment of several stopped answering; another failed the runs and operations it had",
    payload: z.object({
      instance_id: z.string(),
      /** "host/pid (id…)" */
      instance: z.string(),
      host: z.string(),
      reason: z.string(),
      last_seen: z.string(),
      runs: z.array(z.object({ execution_id: z.string(), job_id: z.string() })),
      operations: z.array(z.object({ operation_id: z.string(), kind: z.string() })),
    }),
    problem: () => ({ role: "once" }),
    title: (p) => `Instance ${p.instance} stopped answering`,
    text: (p) => {
      const work = [...p.runs.map((run) => `run of job '${run.job_id}'`), ...p.operations.map((op) => `${op.kind} operation`)];
      return `Instance ${p.instance} ${p.reason} (last seen ${p.last_seen}). ${work.length > 0 ? `It was running: ${work.join(", ")}; marked failed.` : "It was running nothing."}`;
    },
    page: () => "/",
  }),
};

export type EventName = keyof typeof EVENTS;
export type EventPayload<E extends EventName> = z.input<(typeof EVENTS)[E]["payload"]>;

/** The closed list of event names, in the order the Settings page shows them. */
export const EVENT_NAMES = Object.keys(EVENTS) as [EventName, ...EventName[]];

/** The one event a channel gets without subscribing: its Test button. */
export const TEST_EVENT = "notification.test";

export function severityAtLeast(severity: Severity, minimum: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(minimum);
}

/** The catalogue for the API and the Settings page. */
export function describeEvents() {
  return EVENT_NAMES.map((name) => ({ name, severity: EVENTS[name].severity, description: EVENTS[name].description }));
}
