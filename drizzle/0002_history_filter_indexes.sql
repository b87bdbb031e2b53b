CREATE INDEX `idx_executions_job_start` ON `job_executions` (`job_id`,`start_time`);--> statement-breakpoint
CREATE INDEX `idx_executions_status_start` ON `job_executions` (`status`,`start_time`,`duration`);--> statement-breakpoint
CREATE INDEX `idx_executions_pipeline_start` ON `job_executions` (`pipeline`,`start_time`);--> statement-breakpoint
CREATE INDEX `idx_executions_start_status_duration` ON `job_executions` (`start_time`,`status`,`duration`);