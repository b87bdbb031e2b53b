import * as sqlite from "./sqlite/notifications";
import * as pg from "./pg/notifications";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const notificationChannels = selectTable(sqlite.notificationChannels, pg.notificationChannels);
export const notificationDeliveries = selectTable(sqlite.notificationDeliveries, pg.notificationDeliveries);
export const notificationProblems = selectTable(sqlite.notificationProblems, pg.notificationProblems);
export const jobNotificationSettings = selectTable(sqlite.jobNotificationSettings, pg.jobNotificationSettings);
export type { NotificationChannelRow, NotificationDeliveryRow, NotificationProblemRow, JobNotificationSettingsRow } from "./sqlite/notifications";
