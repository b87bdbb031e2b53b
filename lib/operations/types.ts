/** JSON-safe view of an operation, shared by the API, server-rendered pages and the polling hook. */
export type OperationStatus = "running" | "succeeded" | "failed" | "cancelled";

export interface OperationDto {
  id: string;
  kind: string;
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
}

export function isFinished(status: OperationStatus): boolean {
  return status !== "running";
}
