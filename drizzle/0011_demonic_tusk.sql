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
CREATE INDEX `segment_changes_at` ON `segment_changes` (`site`,`at`);