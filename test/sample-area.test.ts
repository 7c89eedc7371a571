/**
 * The bundled offline sample area: building one from a GeoTIFF (GDAL), loading it pinned under
 * the default source at start-up (idempotent), and the service answering inside it with no
 * upstream at all; plus the committed sample itself (size budget, dates, footprint).
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import sharp from "sharp";
import { openDatabase } from "../src/db/database.js";
import { buildSample, latestSample, loadSample, readSampleMetadata } from "../src/tiles/sample-area.js";
import { TileStore } from "../src/tiles/tile-store.js";
import { tileForPoint } from "../src/tiles/tile-math.js";
import { createTestDatabase } from "./helpers/databases.js";
import { makeGeoTiff } from "./helpers/fixtures.js";
import { gql, startTestApp } from "./helpers/app.js";

/** A sample MBTiles built from the fixture GeoTIFF in a fresh folder. */
async function sampleOf(minZoom: number, maxZoom: number, attribution: string) {
  const work = await mkdtemp(path.join(tmpdir(), "gv-sample-"));
  const out = path.join(work, "s.mbtiles");
  const file = await makeGeoTiff(work, "m_test_20200831.tif");
  return { out, report: await buildSample({ file, out, date: "2020-08-31", name: "t", attribution, minZoom, maxZoom }) };
}

describe("sample area", () => {
  test("a GeoTIFF becomes an MBTiles sample: whole tiles as JPEG, edge tiles as WebP with transparency, metadata with date and bounds", async () => {
    const { out, report: r } = await sampleOf(13, 16, "USDA NAIP 2020");
    assert.ok(r.tiles >= 4);
    const db = new Database(out, { readonly: true });
    try {
      const meta = readSampleMetadata(db, out);
      assert.equal(meta.date, "2020-08-31");
      assert.deepEqual([meta.minZoom, meta.maxZoom], [13, 16]);
      const rows = db.prepare("SELECT tile_data AS b FROM tiles").all() as { b: Buffer }[];
      assert.equal(rows.length, r.tiles);
      const kinds = new Set<string>();
      for (const { b } of rows) {
        const m = await sharp(b).metadata();
        kinds.add(`${m.format}${m.hasAlpha ? "+alpha" : ""}`);
      }
      // The raster (2 x 1.5 km) is smaller than a z13 tile: that one is an edge tile; z16 has whole ones.
      assert.ok(kinds.has("jpeg") && kinds.has("webp+alpha"), [...kinds].join(","));
    } finally {
      db.close();
    }
  });

  test("loading is idempotent: the first start writes every tile pinned, the next writes none", async () => {
    const { out, report: r } = await sampleOf(14, 15, "x");
    const t = await createTestDatabase("embedded");
    const db = await openDatabase({ dataDir: t.dataDir, poolSize: 1 });
    try {
      const store = new TileStore(db.prisma);
      const first = await loadSample(store, "esri-world-imagery", out, 1 << 20);
      assert.equal(first.written, r.tiles);
      const again = await loadSample(store, "esri-world-imagery", out, 1 << 20);
      assert.equal(again.written, 0);
      assert.equal(await store.count("esri-world-imagery"), r.tiles);
      const cover = await store.pinnedCoverage("esri-world-imagery");
      assert.deepEqual([cover?.minZoom, cover?.maxZoom], [14, 15]);
    } finally {
      await db.close();
      await t.drop();
    }
  });

  test("the committed sample: four NAIP dates, ≤ 15 MB in all, zooms 12-17 over the documented footprint", async () => {
    const dir = path.resolve("sample");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".mbtiles")).sort();
    assert.deepEqual(files, [
      "naip-nd-2009-08-18.mbtiles",
      "naip-nd-2014-07-20.mbtiles",
      "naip-nd-2017-08-27.mbtiles",
      "naip-nd-2020-08-31.mbtiles",
    ]);
    let bytes = 0;
    for (const f of files) bytes += (await stat(path.join(dir, f))).size;
    assert.ok(bytes <= 15 * 1024 * 1024, `${bytes} bytes`);
    const latest = latestSample(dir);
    assert.equal(latest?.meta.date, "2020-08-31");
    const [w, s, e, n] = latest!.meta.bounds;
    for (const [v, want] of [
      [w, -99.186],
      [s, 47.004],
      [e, -99.124],
      [n, 47.037],
    ]) {
      assert.ok(Math.abs(v - want) < 0.001, `${latest!.meta.bounds} vs the footprint -99.186,47.004,-99.124,47.037`);
    }
    assert.deepEqual([latest!.meta.minZoom, latest!.meta.maxZoom], [12, 17]);
  });

  test("with no upstream reachable, landscape and terrainFilter answer inside the sample; TileJSON names it and opens there", async () => {
    const t = await createTestDatabase("embedded");
    // The default source, pointed at nothing: UPSTREAM_TIMEOUT_MS small, and the sample on.
    const app = await startTestApp(t, { SAMPLE_AREA: path.resolve("sample"), UPSTREAM_RETRIES: "0", UPSTREAM_TIMEOUT_MS: "200" });
    try {
      assert.equal(app.tileCache.source.id, "esri-world-imagery");
      assert.equal(app.sampleArea?.date, "2020-08-31");
      const tj = (await (await fetch(`${app.url}/tiles/satellite.json`)).json()) as any;
      assert.match(tj.attribution, /Esri.*sample area: USDA NAIP 2020 \(public domain\)/);
      const [lon, lat, zoom] = tj.center;
      assert.ok(lon > -99.186 && lon < -99.124 && lat > 47.004 && lat < 47.037 && zoom === 15);
      // The README's first example.
      const l = await gql(app, "{ landscape(lat: 47.02, lon: -99.15) { dominantTerrain cached tile { z x y } } }");
      assert.equal(l.body.errors, undefined, JSON.stringify(l.body.errors));
      assert.deepEqual(l.body.data.landscape.tile, { z: 17, x: 29436, y: 46090 });
      const f = await gql(
        app,
        `{ terrainFilter(bbox: { west: -99.16, south: 47.015, east: -99.15, north: 47.022 }, terrain: [WATER, FIELD, GRASS, FOREST]) {
            totalCount tilesAnalysed } }`,
      );
      assert.equal(f.body.errors, undefined, JSON.stringify(f.body.errors));
      assert.ok(f.body.data.terrainFilter.tilesAnalysed > 10);
      for (const z of [12, 15, 17]) {
        const k = tileForPoint(47.02, -99.15, z);
        const tile = await fetch(`${app.url}/tiles/satellite/${z}/${k.x}/${k.y}`);
        assert.equal(tile.status, 200, `tile ${z}/${k.x}/${k.y}`);
      }
    } finally {
      await app.close();
      await t.drop();
    }
  });
});
