CREATE TABLE "instances" (
	"id" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"version" text NOT NULL,
	"data_root_id" text,
	"started_at" timestamp(3) with time zone NOT NULL,
	"last_seen" timestamp(3) with time zone NOT NULL,
	"lease_until" timestamp(3) with time zone NOT NULL,
	"stopped_at" timestamp(3) with time zone,
	"stop_reason" text
);
--> statement-breakpoint
CREATE TABLE "job_fires" (
	"job_id" text NOT NULL,
	"scheduled_for" timestamp(3) with time zone NOT NULL,
	"claimed_by" text NOT NULL,
	"claimed_at" timestamp(3) with time zone NOT NULL,
	"execution_id" text,
	CONSTRAINT "job_fires_job_id_scheduled_for_pk" PRIMARY KEY("job_id","scheduled_for")
);
--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "owner_instance" text;--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN "cancel_requested_at" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "operations" ADD COLUMN "owner_instance" text;--> statement-breakpoint
ALTER TABLE "operations" ADD COLUMN "cancel_requested_at" timestamp(3) with time zone;--> statement-breakpoint
ALTER TABLE "job_fires" ADD CONSTRAINT "job_fires_job_id_scheduled_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."scheduled_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idx_instances_lease" ON "instances" USING btree ("stopped_at","lease_until");--> statement-breakpoint
CREATE INDEX "idx_job_fires_claimed_at" ON "job_fires" USING btree ("claimed_at");--> statement-breakpoint
-- Before the index: a database from before it may hold two running rows of one job (only a dead process can have left them); all but one are closed as the boot of that time would have.
UPDATE "job_executions" SET status = 'failed', error = 'Interrupted: the server process stopped while this run was in progress' WHERE status = 'running' AND EXISTS (SELECT 1 FROM "job_executions" AS newer WHERE newer.job_id = "job_executions".job_id AND newer.status = 'running' AND newer.id > "job_executions".id);--> statement-breakpoint
CREATE UNIQUE INDEX "one_running_execution_per_job" ON "job_executions" USING btree ("job_id") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "idx_executions_owner_running" ON "job_executions" USING btree ("owner_instance") WHERE status = 'running';