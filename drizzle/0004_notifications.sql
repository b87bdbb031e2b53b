CREATE TABLE `job_notification_settings` (
	`job_id` text PRIMARY KEY NOT NULL,
	`failure_threshold` integer NOT NULL,
	`consecutive_failures` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notification_channels` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`enabled` integer NOT NULL,
	`settings` text NOT NULL,
	`secrets` text,
	`events` text NOT NULL,
	`min_severity` text NOT NULL,
	`reminder_hours` integer,
	`quiet_start` text,
	`quiet_end` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_notification_channels_name` ON `notification_channels` (`name`);--> statement-breakpoint
CREATE TABLE `notification_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL,
	`event` text NOT NULL,
	`severity` text NOT NULL,
	`channel_id` text NOT NULL,
	`channel_name` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` text,
	`claimed_until` text,
	`last_error` text,
	`attempt_log` text NOT NULL,
	`sent_at` text,
	`message` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_notification_deliveries_status_next` ON `notification_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `idx_notification_deliveries_channel_created` ON `notification_deliveries` (`channel_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_notification_deliveries_created` ON `notification_deliveries` (`created_at`);--> statement-breakpoint
CREATE TABLE `notification_problems` (
	`channel_id` text NOT NULL,
	`problem_key` text NOT NULL,
	`raised_at` text NOT NULL,
	`last_sent_at` text NOT NULL,
	PRIMARY KEY(`channel_id`, `problem_key`)
);
