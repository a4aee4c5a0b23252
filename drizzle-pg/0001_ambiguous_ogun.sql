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
CREATE INDEX "segment_changes_at" ON "segment_changes" USING btree ("site","at");