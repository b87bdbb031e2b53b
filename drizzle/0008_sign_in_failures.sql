CREATE TABLE `sign_in_failures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key_hash` text NOT NULL,
	`failed_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_sign_in_failures_key` ON `sign_in_failures` (`key_hash`,`failed_at`);--> statement-breakpoint
CREATE INDEX `idx_sign_in_failures_failed_at` ON `sign_in_failures` (`failed_at`);