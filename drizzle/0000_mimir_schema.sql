-- Mimir AIP databases are adopted in place: IF NOT EXISTS leaves their tables, indexes and rows as they are.
CREATE TABLE IF NOT EXISTS `scheduled_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`pipeline` text NOT NULL,
	`cron_expr` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`next_run` text,
	`last_run` text,
	`last_result` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_jobs_enabled` ON `scheduled_jobs` (`enabled`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_jobs_next_run` ON `scheduled_jobs` (`next_run`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `pipelines` (
	`name` text PRIMARY KEY NOT NULL,
	`description` text,
	`config` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `job_executions` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`pipeline` text NOT NULL,
	`start_time` text NOT NULL,
	`end_time` text,
	`duration` integer,
	`status` text NOT NULL,
	`error` text,
	`context` text,
	`steps` text,
	`triggered_by` text NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `scheduled_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_executions_job_id` ON `job_executions` (`job_id`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_executions_start_time` ON `job_executions` (`start_time`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_executions_status` ON `job_executions` (`status`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `system_metadata` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `operations` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`exclusive` integer DEFAULT false NOT NULL,
	`progress_done` integer DEFAULT 0 NOT NULL,
	`progress_total` integer,
	`progress_unit` text,
	`message` text,
	`params` text,
	`result` text,
	`error` text,
	`created_by` text,
	`created_at` text NOT NULL,
	`started_at` text,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_operations_status` ON `operations` (`status`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_operations_created_at` ON `operations` (`created_at`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `backups` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL,
	`trigger` text NOT NULL,
	`bytes` integer NOT NULL,
	`encrypted` integer DEFAULT false NOT NULL,
	`pinned` integer DEFAULT false NOT NULL,
	`manifest` text NOT NULL,
	`verified_at` text,
	`verify_status` text,
	`verify_error` text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_backups_created_at` ON `backups` (`created_at`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `storage_samples` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`taken_at` text NOT NULL,
	`volume` text NOT NULL,
	`bytes` integer NOT NULL,
	`files` integer NOT NULL,
	`fs_free_bytes` integer,
	`fs_total_bytes` integer
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_storage_samples_volume_taken_at` ON `storage_samples` (`volume`,`taken_at`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_storage_samples_taken_at` ON `storage_samples` (`taken_at`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`actor_type` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`result` text NOT NULL,
	`ip` text,
	`details` text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_audit_log_at` ON `audit_log` (`at`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`scope` text NOT NULL,
	`created_by` text,
	`created_at` text NOT NULL,
	`expires_at` text,
	`last_used_at` text,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS `idx_api_tokens_token_hash` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`last_seen_at` text NOT NULL,
	`ip` text,
	`user_agent` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_sessions_user_id` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX IF NOT EXISTS `idx_sessions_expires_at` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `users` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`disabled_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS `idx_users_username` ON `users` (`username`);