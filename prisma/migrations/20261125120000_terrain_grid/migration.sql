-- The terrain grid inside each analysed tile (issue 13): the cleaned grid is kept with the
-- tile's analysis (one byte per cell for the terrain, one for its probability), and its
-- pieces (4-connected cells of one terrain) are stored as polygons that terrainFilter,
-- terrainSummary and the terrain vector tiles merge across tile borders in PostGIS.

-- AlterTable
ALTER TABLE "tile_analysis" ADD COLUMN "grid_cells" INTEGER,
ADD COLUMN "grid_labels" BYTEA,
ADD COLUMN "grid_confidence" BYTEA;

-- CreateTable
CREATE TABLE "terrain_piece" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "z" INTEGER NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "model_version" TEXT NOT NULL,
    "terrain" TEXT NOT NULL,
    "cells" INTEGER NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL,
    "geom" geometry(MultiPolygon,4326) NOT NULL,

    CONSTRAINT "terrain_piece_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "terrain_piece_source_model_version_z_x_y_idx" ON "terrain_piece"("source", "model_version", "z", "x", "y");

-- CreateIndex
CREATE INDEX "terrain_piece_geom_idx" ON "terrain_piece" USING GIST ("geom");

-- Tiles analysed before grids existed: one piece each, the whole tile as its dominant terrain.
INSERT INTO "terrain_piece" ("source", "z", "x", "y", "model_version", "terrain", "cells", "confidence", "geom")
SELECT "source", "z", "x", "y", "model_version", "dominant_terrain", 1, "dominant_probability", ST_Multi("bounds")
FROM "tile_analysis";
