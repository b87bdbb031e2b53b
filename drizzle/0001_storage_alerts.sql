CREATE TABLE `storage_alerts` (
	`key` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`message` text NOT NULL,
	`value` real NOT NULL,
	`raise_at` real NOT NULL,
	`clear_at` real NOT NULL,
	`raised_at` text,
	`cleared_at` text,
	`notified_state` text,
	`updated_at` text NOT NULL
);
