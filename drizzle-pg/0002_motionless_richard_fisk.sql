CREATE TABLE "stats_rollup" (
	"site" text NOT NULL,
	"bucket" integer NOT NULL,
	"start" bigint NOT NULL,
	"metric" text NOT NULL,
	"value" integer NOT NULL,
	"taken" bigint NOT NULL,
	CONSTRAINT "stats_rollup_site_bucket_start_metric_pk" PRIMARY KEY("site","bucket","start","metric")
);
