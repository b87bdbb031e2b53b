"use client";

/** Query keys of the notification lists; every change on the Notifications card invalidates them. */
export const notifyKeys = {
  channels: ["notification-channels"] as const,
  deliveries: ["notification-deliveries"] as const,
};
