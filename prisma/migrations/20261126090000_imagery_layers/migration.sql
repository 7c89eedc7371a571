-- Dated imagery (issue 14): the catalogue of a source's dated layers. A dated import stores its
-- tiles under the layer id "<source>@<YYYY-MM-DD>" (satellite_tile.source), so the cache, the
-- analyses and the terrain pieces are keyed by date through it; this table says which dates a
-- source has, where and at which zooms, for imageryDates(bbox) and "the latest date" lookups.

-- CreateTable
CREATE TABLE "imagery_layer" (
    "layer" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "acquired_on" DATE NOT NULL,
    "tiles" INTEGER NOT NULL,
    "min_zoom" INTEGER NOT NULL,
    "max_zoom" INTEGER NOT NULL,
    "west" DOUBLE PRECISION NOT NULL,
    "south" DOUBLE PRECISION NOT NULL,
    "east" DOUBLE PRECISION NOT NULL,
    "north" DOUBLE PRECISION NOT NULL,
    "file" TEXT,
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "imagery_layer_pkey" PRIMARY KEY ("layer")
);

-- CreateIndex
CREATE UNIQUE INDEX "imagery_layer_source_acquired_on_key" ON "imagery_layer"("source", "acquired_on");
