-- Groundview initial schema: satellite tile cache, fetch leases, per-tile model results.
-- Written in Prisma's naming conventions so `prisma migrate deploy`/`diff` agree with it.

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "postgis";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "cube";

-- CreateEnum
CREATE TYPE "tile_status" AS ENUM ('AVAILABLE', 'MISSING');

-- CreateTable
CREATE TABLE "satellite_tile" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "z" INTEGER NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "status" "tile_status" NOT NULL,
    "bytes" BYTEA,
    "content_type" TEXT,
    "content_hash" TEXT,
    "byte_length" INTEGER NOT NULL DEFAULT 0,
    "upstream_etag" TEXT,
    "upstream_last_modified" TEXT,
    "pinned" BOOLEAN NOT NULL DEFAULT false,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    -- The footprint is derived from z/x/y by PostGIS, so it can never disagree with them.
    "bounds" geometry(Polygon,4326) GENERATED ALWAYS AS (ST_Transform(ST_TileEnvelope("z", "x", "y"), 4326)) STORED,

    CONSTRAINT "satellite_tile_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "satellite_tile_zxy_check" CHECK ("z" BETWEEN 0 AND 24 AND "x" >= 0 AND "y" >= 0 AND "x" < (1::bigint << "z") AND "y" < (1::bigint << "z")),
    CONSTRAINT "satellite_tile_bytes_check" CHECK (("status" = 'AVAILABLE') = ("bytes" IS NOT NULL AND "content_hash" IS NOT NULL))
);

-- CreateTable
CREATE TABLE "tile_fetch_lease" (
    "source" TEXT NOT NULL,
    "z" INTEGER NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "owner" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "tile_fetch_lease_pkey" PRIMARY KEY ("source","z","x","y")
);

-- CreateTable
CREATE TABLE "tile_analysis" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "z" INTEGER NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "model_version" TEXT NOT NULL,
    "tile_hash" TEXT NOT NULL,
    "terrain_probabilities" DOUBLE PRECISION[],
    "dominant_terrain" TEXT NOT NULL,
    "dominant_probability" DOUBLE PRECISION NOT NULL,
    "latent" DOUBLE PRECISION[],
    -- cube(float8[]) is immutable: the k-NN point always matches the stored latent.
    "latent_cube" cube GENERATED ALWAYS AS (cube("latent")) STORED,
    "image" BYTEA,
    "image_content_type" TEXT,
    "image_hash" TEXT,
    "computed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "bounds" geometry(Polygon,4326) GENERATED ALWAYS AS (ST_Transform(ST_TileEnvelope("z", "x", "y"), 4326)) STORED,

    CONSTRAINT "tile_analysis_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "satellite_tile_bounds_idx" ON "satellite_tile" USING GIST ("bounds");

-- CreateIndex
CREATE INDEX "satellite_tile_expires_at_idx" ON "satellite_tile"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "satellite_tile_source_z_x_y_key" ON "satellite_tile"("source", "z", "x", "y");

-- CreateIndex
CREATE INDEX "tile_analysis_bounds_idx" ON "tile_analysis" USING GIST ("bounds");

-- CreateIndex
CREATE INDEX "tile_analysis_latent_cube_idx" ON "tile_analysis" USING GIST ("latent_cube");

-- CreateIndex
CREATE INDEX "tile_analysis_model_version_dominant_terrain_idx" ON "tile_analysis"("model_version", "dominant_terrain");

-- CreateIndex
CREATE UNIQUE INDEX "tile_analysis_source_z_x_y_model_version_key" ON "tile_analysis"("source", "z", "x", "y", "model_version");
