ALTER TABLE `api_tokens` ADD `owner_user_id` text;--> statement-breakpoint
CREATE INDEX `idx_api_tokens_owner_user_id` ON `api_tokens` (`owner_user_id`);--> statement-breakpoint
-- Tokens made before owners were recorded: owned by the user who created them when that account still exists (created_by held the name).
UPDATE `api_tokens` SET `owner_user_id` = (SELECT `id` FROM `users` WHERE `users`.`username` = `api_tokens`.`created_by`) WHERE `owner_user_id` IS NULL AND `id` <> 'env-mimir-api-token';
