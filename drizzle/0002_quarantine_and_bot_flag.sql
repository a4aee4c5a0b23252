CREATE TABLE `quarantine` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`site` text NOT NULL,
	`visitor` text,
	`event_id` text,
	`source` text NOT NULL,
	`received` integer NOT NULL,
	`error` text NOT NULL,
	`message` text NOT NULL,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `quarantine_site` ON `quarantine` (`site`,`seq`);--> statement-breakpoint
CREATE INDEX `quarantine_person` ON `quarantine` (`site`,`visitor`);--> statement-breakpoint
ALTER TABLE `events` ADD `bot` integer DEFAULT false NOT NULL;