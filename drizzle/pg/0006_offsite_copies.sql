CREATE TABLE "offsite_copies" (
	"backup_id" text NOT NULL,
	"destination_id" text NOT NULL,
	"status" text NOT NULL,
	"bytes" bigint NOT NULL,
	"total_bytes" bigint NOT NULL,
	"proven_files" text NOT NULL,
	"operation_id" text,
	"started_at" timestamp(3) with time zone,
	"copied_at" timestamp(3) with time zone,
	"verified_at" timestamp(3) with time zone,
	"verified_by" text,
	"error" text,
	"failures" integer NOT NULL,
	"updated_at" timestamp(3) with time zone NOT NULL,
	CONSTRAINT "offsite_copies_backup_id_destination_id_pk" PRIMARY KEY("backup_id","destination_id")
);
--> statement-breakpoint
CREATE TABLE "offsite_destinations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"enabled" boolean NOT NULL,
	"settings" text NOT NULL,
	"secrets" text,
	"pinned_identity" text,
	"require_encrypted" boolean NOT NULL,
	"keep_days" integer,
	"keep_min" integer NOT NULL,
	"last_test_at" timestamp(3) with time zone,
	"last_test_error" text,
	"created_at" timestamp(3) with time zone NOT NULL,
	"updated_at" timestamp(3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "idx_offsite_copies_destination" ON "offsite_copies" USING btree ("destination_id","status");--> statement-breakpoint
CREATE INDEX "idx_offsite_destinations_name" ON "offsite_destinations" USING btree ("name");