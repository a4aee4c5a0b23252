CREATE TABLE `stats_rollup` (
	`site` text NOT NULL,
	`bucket` integer NOT NULL,
	`start` integer NOT NULL,
	`metric` text NOT NULL,
	`value` integer NOT NULL,
	`taken` integer NOT NULL,
	PRIMARY KEY(`site`, `bucket`, `start`, `metric`)
);
