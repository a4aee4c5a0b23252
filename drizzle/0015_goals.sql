CREATE TABLE `goal_models` (
	`site` text NOT NULL,
	`goal` text NOT NULL,
	`definition` text NOT NULL,
	`trained` integer NOT NULL,
	`status` text NOT NULL,
	`model` text,
	`evaluation` text NOT NULL,
	PRIMARY KEY(`site`, `goal`)
);
--> statement-breakpoint
CREATE TABLE `site_goals` (
	`site` text NOT NULL,
	`name` text NOT NULL,
	`definition` text NOT NULL,
	`created` integer NOT NULL,
	`updated` integer NOT NULL,
	PRIMARY KEY(`site`, `name`)
);
