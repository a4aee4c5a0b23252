CREATE TABLE `segment_sizes` (
	`site` text NOT NULL,
	`day` integer NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`members` integer NOT NULL,
	`taken` integer NOT NULL,
	PRIMARY KEY(`site`, `day`, `kind`, `name`)
);
--> statement-breakpoint
CREATE TABLE `stats_rollup` (
	`site` text NOT NULL,
	`bucket` integer NOT NULL,
	`start` integer NOT NULL,
	`metric` text NOT NULL,
	`value` integer NOT NULL,
	`taken` integer NOT NULL,
	PRIMARY KEY(`site`, `bucket`, `start`, `metric`)
);
--> statement-breakpoint
CREATE INDEX `segment_changes_at` ON `segment_changes` (`site`,`at`);