CREATE TABLE "rule_versions" (
	"site" text PRIMARY KEY NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "site_rules" (
	"site" text NOT NULL,
	"name" text NOT NULL,
	"definition" text NOT NULL,
	"revision" integer NOT NULL,
	"backfilled" integer DEFAULT 0 NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"created" bigint NOT NULL,
	"updated" bigint NOT NULL,
	CONSTRAINT "site_rules_site_name_pk" PRIMARY KEY("site","name")
);
