CREATE TABLE `links` (
	`site` text NOT NULL,
	`visitor` text NOT NULL,
	`contact` text NOT NULL,
	`linked_at` integer NOT NULL,
	PRIMARY KEY(`site`, `visitor`)
);
--> statement-breakpoint
CREATE INDEX `links_contact` ON `links` (`site`,`contact`);--> statement-breakpoint
CREATE TABLE `profile_meta` (
	`site` text NOT NULL,
	`visitor` text NOT NULL,
	`traits` text DEFAULT '{}' NOT NULL,
	`first_touch` text,
	`last_touch` text,
	`updated` integer NOT NULL,
	PRIMARY KEY(`site`, `visitor`)
);
