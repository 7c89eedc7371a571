-- Area jobs (issue 13): prepareArea(area, zoom) analyses every tile of an area in the background,
-- in chunks that any service process on the database may take from the job queue (pg-boss, in
-- its own schema "pgboss", created by pg-boss itself). These tables hold what the API reports:
-- the job, and which of its chunks are done (a chunk done twice, after a retry, counts once).

-- CreateTable
CREATE TABLE "area_job" (
    "id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "model_version" TEXT NOT NULL,
    "zoom" INTEGER NOT NULL,
    "area" JSONB NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'QUEUED',
    "tiles_total" INTEGER NOT NULL,
    "tiles_done" INTEGER NOT NULL DEFAULT 0,
    "tiles_without_imagery" INTEGER NOT NULL DEFAULT 0,
    "tiles_computed" INTEGER NOT NULL DEFAULT 0,
    "tiles_failed" INTEGER NOT NULL DEFAULT 0,
    "chunks_total" INTEGER NOT NULL,
    "chunks_done" INTEGER NOT NULL DEFAULT 0,
    "chunks_failed" INTEGER NOT NULL DEFAULT 0,
    "enqueued" BOOLEAN NOT NULL DEFAULT false,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "area_job_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "area_job_state_check" CHECK ("state" IN ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED'))
);

-- CreateTable
CREATE TABLE "area_job_chunk" (
    "job_id" UUID NOT NULL,
    "chunk" INTEGER NOT NULL,
    "xs" INTEGER[] NOT NULL,
    "ys" INTEGER[] NOT NULL,
    "done_at" TIMESTAMPTZ(3),
    "failed" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "area_job_chunk_pkey" PRIMARY KEY ("job_id", "chunk")
);

-- CreateIndex
CREATE INDEX "area_job_state_idx" ON "area_job"("state");

-- AddForeignKey
ALTER TABLE "area_job_chunk" ADD CONSTRAINT "area_job_chunk_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "area_job"("id") ON DELETE CASCADE ON UPDATE CASCADE;
