/**
 * One error type for the whole product. A code belongs to a category, and the category alone
 * decides the HTTP status, so `invalid_cron` and `invalid_yaml` are both 400s without a table per route.
 * The browser client rebuilds the same error from the JSON envelope and branches on `code`.
 */
export const ERROR_CATEGORIES = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  misdirected: 421,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  busy: 503,
  internal: 500,
  not_implemented: 501,
} as const;

export type ErrorCategory = keyof typeof ERROR_CATEGORIES;

/** Specific codes refine a category. A code is a category or one of these: the list is closed. */
const CODE_CATEGORY = {
  invalid_json: "invalid",
  invalid_input: "invalid",
  invalid_cron: "invalid",
  invalid_yaml: "invalid",
  invalid_pipeline: "invalid",
  invalid_name: "invalid",
  invalid_cursor: "invalid",
  invalid_origin: "forbidden",
  csrf_rejected: "forbidden",
  host_not_allowed: "misdirected",
  reauth_required: "forbidden",
  reauth_failed: "forbidden",
  not_editable: "invalid",
  env_override: "conflict",
  last_admin: "conflict",
  self_change: "conflict",
  config_invalid: "unprocessable",
  database_unavailable: "busy",
  operation_running: "conflict",
  too_late: "conflict",
  cancelled: "conflict",
  already_exists: "conflict",
  in_use: "conflict",
  body_too_large: "too_large",
  insufficient_disk: "unprocessable",
  database_busy: "busy",
  invalid_sql: "invalid",
  read_only: "unprocessable",
  query_timeout: "unprocessable",
  query_too_large: "too_large",
  invalid_archive: "unprocessable",
  wrong_passphrase: "unprocessable",
  passphrase_required: "unprocessable",
  verification_failed: "unprocessable",
  preflight_failed: "unprocessable",
  migrating: "busy",
  insufficient_scope: "forbidden",
  builtin_admin_only: "forbidden",
  cron_too_frequent: "unprocessable",
  too_many_runs: "rate_limited",
  destination_forbidden: "forbidden",
  destination_unreachable: "unprocessable",
  secret_unreadable: "unprocessable",
  delivery_failed: "unprocessable",
  offsite_failed: "unprocessable",
  encryption_required: "unprocessable",
  // An operation's outcome when the server stopped under it, not an answer; were it ever one, a 409 like cancelled.
  interrupted: "conflict",
  /** an operation this backend does not offer yet (SQLite-only maintenance while on PostgreSQL) */
  unavailable_on_postgres: "not_implemented",
} as const satisfies Record<string, ErrorCategory>;

export type ErrorCode = ErrorCategory | keyof typeof CODE_CATEGORY;

/** Whether a string (an envelope's code, read back in the browser) is one of ours. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATEGORIES, code) || Object.hasOwn(CODE_CATEGORY, code);
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options?: { details?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.details = options?.details;
  }

  get category(): ErrorCategory {
    return categoryOf(this.code);
  }

  get status(): number {
    return ERROR_CATEGORIES[this.category];
  }

  toJSON(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
}

export function categoryOf(code: ErrorCode): ErrorCategory {
  if (Object.hasOwn(ERROR_CATEGORIES, code)) return code as ErrorCategory;
  return CODE_CATEGORY[code as keyof typeof CODE_CATEGORY];
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export function notFound(what: string, id: string): AppError {
  return new AppError("not_found", `${what} '${id}' does not exist`);
}
