CREATE TABLE `webhook_deliveries` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`site` text NOT NULL,
	`visitor` text NOT NULL,
	`contact` text,
	`hook` text NOT NULL,
	`url` text NOT NULL,
	`segment` text NOT NULL,
	`change` text NOT NULL,
	`body` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created` integer NOT NULL,
	`next_attempt` integer NOT NULL,
	`last_attempt` integer,
	`last_status` integer,
	`last_error` text,
	`delivered_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_id_unique` ON `webhook_deliveries` (`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`status`,`next_attempt`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_site` ON `webhook_deliveries` (`site`,`status`,`seq`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_person` ON `webhook_deliveries` (`site`,`visitor`);--> statement-breakpoint
CREATE INDEX `events_age` ON `events` (`site`,`ts`);