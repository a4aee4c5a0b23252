CREATE TABLE "goal_models" (
	"site" text NOT NULL,
	"goal" text NOT NULL,
	"definition" text NOT NULL,
	"trained" bigint NOT NULL,
	"status" text NOT NULL,
	"model" text,
	"evaluation" text NOT NULL,
	CONSTRAINT "goal_models_site_goal_pk" PRIMARY KEY("site","goal")
);
--> statement-breakpoint
CREATE TABLE "site_goals" (
	"site" text NOT NULL,
	"name" text NOT NULL,
	"definition" text NOT NULL,
	"created" bigint NOT NULL,
	"updated" bigint NOT NULL,
	CONSTRAINT "site_goals_site_name_pk" PRIMARY KEY("site","name")
);
