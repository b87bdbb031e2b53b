import { OPERATION_KINDS, OPERATION_STATUSES } from "@/lib/db/vocabulary";

export { OPERATION_KINDS, OPERATION_STATUSES };
export type OperationKind = (typeof OPERATION_KINDS)[number];
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** JSON-safe view of an operation, shared by the API, server-rendered pages and the polling hook. */
export interface OperationDto {
  id: string;
  kind: OperationKind;
  status: OperationStatus;
  exclusive: boolean;
  progress: { done: number; total: number | null; unit: string | null };
  message: string | null;
  params: unknown;
  result: unknown;
  error: { code: string; message: string } | null;
  created_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** the instance (see /api/v1/instances) doing the work; null for work from before instances were recorded */
  instance: string | null;
}
