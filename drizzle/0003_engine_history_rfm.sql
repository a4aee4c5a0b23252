CREATE TABLE `rfm_breakpoints` (
	`site` text PRIMARY KEY NOT NULL,
	`computed` integer NOT NULL,
	`customers` integer NOT NULL,
	`recency` text NOT NULL,
	`frequency` text NOT NULL,
	`monetary` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `segment_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site` text NOT NULL,
	`visitor` text NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`previous` text,
	`event` text
);
--> statement-breakpoint
CREATE INDEX `segment_changes_visitor` ON `segment_changes` (`site`,`visitor`,`seq`);--> statement-breakpoint
CREATE INDEX `segment_changes_site` ON `segment_changes` (`site`,`seq`);--> statement-breakpoint
ALTER TABLE `profiles` ADD `segments` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `profiles` ADD `purchases` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `profiles` ADD `monetary` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `profiles` ADD `last_purchase` integer;--> statement-breakpoint
CREATE INDEX `profiles_rfm_f` ON `profiles` (`site`,`purchases`) WHERE purchases > 0;--> statement-breakpoint
CREATE INDEX `profiles_rfm_m` ON `profiles` (`site`,`monetary`) WHERE purchases > 0;--> statement-breakpoint
CREATE INDEX `profiles_rfm_r` ON `profiles` (`site`,`last_purchase`) WHERE purchases > 0;