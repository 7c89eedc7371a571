/** import-raster with GDAL on a small georeferenced fixture made here (no ../shared needed). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, symlink } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { openDatabase } from "../src/db/database.js";
import { importRaster } from "../src/tiles/import-raster.js";
import { TileStore } from "../src/tiles/tile-store.js";
import { createTestDatabase } from "./helpers/databases.js";
import { makeGeoTiff } from "./helpers/fixtures.js";
import { startTestApp } from "./helpers/app.js";

describe("import-raster", () => {
  test("a UTM GeoTIFF becomes pinned Web Mercator tiles whose bounds cover the raster", async () => {
    const work = await mkdtemp(path.join(tmpdir(), "gv-raster-"));
    const tif = await makeGeoTiff(work);
    const t = await createTestDatabase("embedded");
    try {
      const db = await openDatabase({ dataDir: t.dataDir, poolSize: 1 });
      const report = await importRaster(new TileStore(db.prisma), {
        file: tif,
        source: "imported",
        minZoom: 13,
        maxZoom: 15,
        maxPixels: 1 << 20,
      });
      assert.ok(report.tiles >= 3, `tiles: ${report.tiles}`);
      assert.deepEqual(Object.keys(report.zooms).map(Number).sort(), [13, 14, 15]);
      const [w, s, e, n] = report.bbox;
      assert.ok(w > -99.2 && e < -99.1 && s > 46.9 && n < 47.1, `bbox ${report.bbox}`);
      const covering = await db.prisma.$queryRaw<{ n: bigint }[]>`
        SELECT count(*) AS n FROM satellite_tile
        WHERE source = 'imported' AND pinned AND z = 15
          AND ST_Intersects(bounds, ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326))`;
      assert.equal(Number(covering[0].n), report.zooms[15], "every z15 tile intersects the raster footprint");
      await db.close();
      const app = await startTestApp(t, { TILE_SOURCE: "imported" });
      try {
        const row = await app.db.prisma.satelliteTile.findFirst({
          where: { source: "imported", z: 15 },
        });
        const r = await fetch(`${app.url}/tiles/satellite/15/${row?.x}/${row?.y}`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("content-type"), "image/png");
        assert.equal((await fetch(`${app.url}/tiles/satellite/15/0/0`)).status, 404, "outside the import: not found");
        // The imported zooms (13-15) are the source's range: a point's default zoom (17) is
        // answered at 15, and a zoom that was not imported is refused with the range.
        const ask = async (query: string) =>
          (await (
            await fetch(`${app.url}/graphql`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ query }),
            })
          ).json()) as { data?: { tile?: { z: number } }; errors?: { message: string; extensions: { code: string } }[] };
        assert.equal((await ask("{ tile(lat: 47.02, lon: -99.15) { z } }")).data?.tile?.z, 15);
        const refused = await ask("{ tile(lat: 47.02, lon: -99.15, zoom: 17) { z } }");
        assert.equal(refused.errors?.[0]?.extensions.code, "OUT_OF_RANGE");
        assert.match(refused.errors?.[0]?.message ?? "", /13.*15/);
      } finally {
        await app.close();
      }
    } finally {
      await t.drop();
    }
  });

  test("without GDAL the command stops with one line that says how to install it", async () => {
    const bin = await mkdtemp(path.join(tmpdir(), "gv-nogdal-"));
    await symlink(process.execPath, path.join(bin, "node"));
    const data = await mkdtemp(path.join(tmpdir(), "gv-nogdal-data-"));
    const cli = fileURLToPath(new URL("../src/imagery/import-raster.cli.js", import.meta.url));
    const r = spawnSync(process.execPath, [cli, "/nonexistent.tif"], {
      env: { ...process.env, PATH: bin, GROUNDVIEW_DATA_DIR: data, DATABASE_URL: "" },
      encoding: "utf8",
    });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /GDAL.*apt-get install gdal-bin/);
  });
});
