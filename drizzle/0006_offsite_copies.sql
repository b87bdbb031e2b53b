CREATE TABLE `offsite_copies` (
	`backup_id` text NOT NULL,
	`destination_id` text NOT NULL,
	`status` text NOT NULL,
	`bytes` integer NOT NULL,
	`total_bytes` integer NOT NULL,
	`proven_files` text NOT NULL,
	`operation_id` text,
	`started_at` text,
	`copied_at` text,
	`verified_at` text,
	`verified_by` text,
	`error` text,
	`failures` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`backup_id`, `destination_id`)
);
--> statement-breakpoint
CREATE INDEX `idx_offsite_copies_destination` ON `offsite_copies` (`destination_id`,`status`);--> statement-breakpoint
CREATE TABLE `offsite_destinations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`enabled` integer NOT NULL,
	`settings` text NOT NULL,
	`secrets` text,
	`pinned_identity` text,
	`require_encrypted` integer NOT NULL,
	`keep_days` integer,
	`keep_min` integer NOT NULL,
	`last_test_at` text,
	`last_test_error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_offsite_destinations_name` ON `offsite_destinations` (`name`);