ALTER TABLE `webhook_cooldowns` ADD `contact` text;--> statement-breakpoint
CREATE INDEX `webhook_cooldowns_contact` ON `webhook_cooldowns` (`site`,`contact`) WHERE contact IS NOT NULL;