CREATE TABLE `events` (
	`site` text NOT NULL,
	`id` text NOT NULL,
	`visitor` text NOT NULL,
	`session` text,
	`type` text NOT NULL,
	`ts` integer NOT NULL,
	`received` integer NOT NULL,
	`url` text,
	`ref` text,
	`category` text,
	`nav` text,
	`target` text,
	`outbound` integer,
	`value` real,
	`currency` text,
	`props` text,
	`utm` text,
	PRIMARY KEY(`site`, `id`)
);
--> statement-breakpoint
CREATE INDEX `events_visitor` ON `events` (`site`,`visitor`,`ts`);--> statement-breakpoint
CREATE TABLE `profiles` (
	`site` text NOT NULL,
	`visitor` text NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`updated` integer NOT NULL,
	`segment` text NOT NULL,
	`data` text NOT NULL,
	PRIMARY KEY(`site`, `visitor`)
);
--> statement-breakpoint
CREATE INDEX `profiles_segment` ON `profiles` (`site`,`segment`);