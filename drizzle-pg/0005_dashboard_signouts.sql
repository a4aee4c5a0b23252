CREATE TABLE "dashboard_signouts" (
	"id" text PRIMARY KEY NOT NULL,
	"exp" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "dashboard_signouts_exp" ON "dashboard_signouts" USING btree ("exp");