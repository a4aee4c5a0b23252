CREATE TABLE "segment_sizes" (
	"site" text NOT NULL,
	"day" bigint NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"members" integer NOT NULL,
	"taken" bigint NOT NULL,
	CONSTRAINT "segment_sizes_site_day_kind_name_pk" PRIMARY KEY("site","day","kind","name")
);
--> statement-breakpoint
CREATE TABLE "stats_rollup" (
	"site" text NOT NULL,
	"bucket" integer NOT NULL,
	"start" bigint NOT NULL,
	"metric" text NOT NULL,
	"value" integer NOT NULL,
	"taken" bigint NOT NULL,
	CONSTRAINT "stats_rollup_site_bucket_start_metric_pk" PRIMARY KEY("site","bucket","start","metric")
);
--> statement-breakpoint
CREATE INDEX "segment_changes_at" ON "segment_changes" USING btree ("site","at");