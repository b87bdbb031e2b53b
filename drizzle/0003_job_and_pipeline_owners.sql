ALTER TABLE `scheduled_jobs` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `scheduled_jobs` ADD `owner_scope` text;--> statement-breakpoint
ALTER TABLE `pipelines` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `pipelines` ADD `owner_scope` text;