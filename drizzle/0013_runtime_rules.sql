CREATE TABLE `rule_versions` (
	`site` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `site_rules` (
	`site` text NOT NULL,
	`name` text NOT NULL,
	`definition` text NOT NULL,
	`revision` integer NOT NULL,
	`backfilled` integer DEFAULT 0 NOT NULL,
	`deleted` integer DEFAULT false NOT NULL,
	`created` integer NOT NULL,
	`updated` integer NOT NULL,
	PRIMARY KEY(`site`, `name`)
);
