CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`pid` integer NOT NULL,
	`version` text NOT NULL,
	`data_root_id` text,
	`started_at` text NOT NULL,
	`last_seen` text NOT NULL,
	`lease_until` text NOT NULL,
	`stopped_at` text,
	`stop_reason` text
);
--> statement-breakpoint
CREATE INDEX `idx_instances_lease` ON `instances` (`stopped_at`,`lease_until`);--> statement-breakpoint
CREATE TABLE `job_fires` (
	`job_id` text NOT NULL,
	`scheduled_for` text NOT NULL,
	`claimed_by` text NOT NULL,
	`claimed_at` text NOT NULL,
	`execution_id` text,
	PRIMARY KEY(`job_id`, `scheduled_for`),
	FOREIGN KEY (`job_id`) REFERENCES `scheduled_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `idx_job_fires_claimed_at` ON `job_fires` (`claimed_at`);--> statement-breakpoint
ALTER TABLE `job_executions` ADD `owner_instance` text;--> statement-breakpoint
ALTER TABLE `job_executions` ADD `cancel_requested_at` text;--> statement-breakpoint
-- Before the index: a database from before it may hold two running rows of one job (only a dead process can have left them); all but one are closed as the boot of that time would have.
UPDATE `job_executions` SET status = 'failed', error = 'Interrupted: the server process stopped while this run was in progress' WHERE status = 'running' AND EXISTS (SELECT 1 FROM `job_executions` AS newer WHERE newer.job_id = `job_executions`.job_id AND newer.status = 'running' AND newer.id > `job_executions`.id);--> statement-breakpoint
CREATE UNIQUE INDEX `one_running_execution_per_job` ON `job_executions` (`job_id`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `idx_executions_owner_running` ON `job_executions` (`owner_instance`) WHERE status = 'running';--> statement-breakpoint
ALTER TABLE `operations` ADD `owner_instance` text;--> statement-breakpoint
ALTER TABLE `operations` ADD `cancel_requested_at` text;