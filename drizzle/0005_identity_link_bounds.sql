CREATE TABLE `webhook_cooldowns` (
	`site` text NOT NULL,
	`visitor` text NOT NULL,
	`hook` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`site`, `visitor`, `hook`)
);
--> statement-breakpoint
ALTER TABLE `links` ADD `expires` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `links` ADD `grant_id` text;--> statement-breakpoint
CREATE INDEX `links_grant` ON `links` (`site`,`grant_id`);