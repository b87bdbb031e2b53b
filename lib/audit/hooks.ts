"use client";

/** Query key of the audit log list; every change on the Settings page invalidates it. */
export const auditKeys = {
  all: ["audit-log"] as const,
};
