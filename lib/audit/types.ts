export interface AuditEntryDto {
  id: number;
  at: string;
  actor: string;
  /** user | token | system | anonymous */
  actor_type: string;
  action: string;
  target: string | null;
  result: "ok" | "denied" | "failed";
  ip: string | null;
  details: Record<string, unknown> | null;
}
