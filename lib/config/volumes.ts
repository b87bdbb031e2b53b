/**
 * The one list of volumes (client-safe: no imports). A backup set, a reset and the config's paths
 * use the five volumes of the guide; storage samples and size alerts also watch the backups folder.
 */
export const VOLUMES = ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines"] as const;
export type VolumeName = (typeof VOLUMES)[number];

/** The volumes and the backups folder, in display order: what storage measures and a size alert can watch. */
export const WATCHED_VOLUMES = [...VOLUMES, "backups"] as const;
export type WatchedVolume = (typeof WATCHED_VOLUMES)[number];
