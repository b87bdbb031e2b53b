/** One server process sharing the database, as /api/v1/instances and the Overview show it. */
export interface InstanceDto {
  id: string;
  host: string;
  pid: number;
  version: string;
  started_at: string;
  last_seen: string;
  lease_until: string;
  /** null while it is alive */
  stopped_at: string | null;
  stop_reason: string | null;
  /** the instance answering this request */
  self: boolean;
  /** its running job runs and operations */
  running: { kind: "run" | "operation"; id: string; label: string }[];
}
