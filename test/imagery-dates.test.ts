/**
 * Dated imagery (issue 14): dates parsed and found in names and metadata; a place imported on two
 * dates lands as two layers beside each other; tiles, TileJSON, ETags, analyses and landscapes
 * are keyed by date; without a date the latest answers; bad and unknown dates get coded errors.
 */
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { App } from "../src/app.js";
import { openDatabase } from "../src/db/database.js";
import { ErrorCode } from "../src/errors/error-codes.js";
import { GroundviewError } from "../src/errors/errors.js";
import { dateFromMetadata, dateFromName, dateOfLayer, layerId, parseImageryDate } from "../src/imagery/imagery-date.js";
import { ImportDateMissingError, importImagery } from "../src/imagery/dated-import.js";
import { TileStore } from "../src/tiles/tile-store.js";
import { Terrain } from "../src/terrain/terrain.enum.js";
import { gql, startTestApp } from "./helpers/app.js";
import { createTestDatabase, MODES, skipReason, type TestDatabase } from "./helpers/databases.js";
import { makeGeoTiff } from "./helpers/fixtures.js";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as GroundviewError).code;
  }
  return undefined;
};

describe("imagery dates", () => {
  test("a date argument is a calendar date from 1900 to today, else INVALID_DATE", () => {
    assert.equal(parseImageryDate("2020-08-31"), "2020-08-31");
    assert.equal(parseImageryDate("2000-02-29"), "2000-02-29");
    for (const bad of ["2019-02-29", "2020-13-01", "2020-8-31", "20200831", "31/08/2020", "1899-12-31", "2999-01-01", ""])
      assert.equal(
        code(() => parseImageryDate(bad)),
        ErrorCode.INVALID_DATE,
        bad,
      );
  });

  test("a file's name or metadata gives its date; a bare year or the file's write time does not", () => {
    assert.equal(dateFromName("/data/m_4709963_se_14_1_20090818.tif"), "2009-08-18");
    assert.equal(dateFromName("scene_2017-08-27.tif"), "2017-08-27");
    assert.equal(dateFromName("landsat_1985.tif"), undefined);
    assert.equal(dateFromName("m_4709963_se_14_060_20201029_20210209.tif"), "2020-10-29", "the first date in the name: acquisition");
    assert.equal(dateFromName("tile_120200831999.tif"), undefined, "not part of a longer number");
    assert.equal(dateFromMetadata({ ACQUISITION_DATE: "2014-07-20T17:03:00Z" }), "2014-07-20");
    assert.equal(dateFromMetadata({ DATE_ACQUIRED: "2014:07:20" }), "2014-07-20");
    assert.equal(dateFromMetadata({ TIFFTAG_DATETIME: "2021:02:09 10:00:00" }), undefined);
    assert.equal(layerId("imported", "2014-07-20"), "imported@2014-07-20");
    assert.equal(dateOfLayer("imported", "imported@2014-07-20"), "2014-07-20");
    assert.equal(dateOfLayer("imported", "esri@2014-07-20"), undefined);
  });
});

for (const mode of MODES) {
  describe(`dated imports (${mode})`, { skip: skipReason(mode) }, () => {
    let db: TestDatabase;
    let app: App;
    const early = "2014-07-20";
    const late = "2020-08-31";
    let reports: Awaited<ReturnType<typeof importImagery>>[];

    before(async () => {
      db = await createTestDatabase(mode);
      const work = await mkdtemp(path.join(tmpdir(), "gv-dated-"));
      // The same footprint on two dates (the later one greener), one dated by its name.
      const a = await makeGeoTiff(work, `m_4709963_se_14_1_${early.replaceAll("-", "")}.tif`, 120);
      const b = await makeGeoTiff(work, "area-late.tif", 170);
      const undated = await makeGeoTiff(work, "area-undated.tif", 60);
      const store = await openDatabase({ dataDir: db.dataDir, databaseUrl: db.databaseUrl, poolSize: 2 });
      const tiles = new TileStore(store.prisma);
      const opts = { source: "imported", minZoom: 13, maxZoom: 15, maxPixels: 1 << 20 };
      try {
        await assert.rejects(importImagery(tiles, { ...opts, file: undated, date: "auto" }), ImportDateMissingError);
        await assert.rejects(
          importImagery(tiles, { ...opts, file: b, date: "2020-02-30" }),
          (e: GroundviewError) => e.code === ErrorCode.INVALID_DATE,
        );
        reports = [
          await importImagery(tiles, { ...opts, file: a, date: "auto" }),
          await importImagery(tiles, { ...opts, file: b, date: late }),
          // Imported again (another file of the same day): the layer is rewritten, not doubled.
          await importImagery(tiles, { ...opts, file: b, date: late }),
          await importImagery(tiles, { ...opts, file: undated }),
        ];
      } finally {
        await store.close();
      }
      app = await startTestApp(db, { TILE_SOURCE: "imported" });
    });
    after(async () => {
      await app?.close();
      await db?.drop();
    });

    test("each date is its own layer, catalogued with its zooms and the raster's extent", async () => {
      assert.deepEqual(
        reports.map((r) => [r.layer, r.date]),
        [
          [`imported@${early}`, early],
          [`imported@${late}`, late],
          [`imported@${late}`, late],
          ["imported", undefined],
        ],
      );
      const { body } = await gql(
        app,
        `{ imageryDates(bbox: {west: -99.3, south: 46.9, east: -99.0, north: 47.1}) { date tiles minZoom maxZoom bbox file } }`,
      );
      const dates = body.data.imageryDates;
      assert.deepEqual(
        dates.map((d: { date: string }) => d.date),
        [late, early],
        "newest first",
      );
      assert.equal(dates[0].tiles, reports[1].tiles, "a re-import of a date does not double it");
      assert.deepEqual(
        [dates[1].minZoom, dates[1].maxZoom, dates[1].file],
        [13, 15, path.basename(`m_4709963_se_14_1_${early.replaceAll("-", "")}.tif`)],
      );
      // The finest zoom's (z15) tiles: at most one tile (0.011°) past the 2 x 1.5 km raster.
      const raster = reports[1].bbox;
      dates[0].bbox.forEach((v: number, i: number) =>
        assert.ok(Math.abs(v - raster[i]) < 0.011, `bbox ${dates[0].bbox} vs raster ${raster}`),
      );
      const away = await gql(app, `{ imageryDates(bbox: {west: 10, south: 10, east: 11, north: 11}) { date } }`);
      assert.deepEqual(away.body.data.imageryDates, []);
    });

    test("tiles, ETags and TileJSON per date; without a date the latest; bad and unknown dates are coded errors", async () => {
      const row = await app.db.prisma.satelliteTile.findFirst({
        where: { source: `imported@${late}`, z: 15 },
        orderBy: [{ x: "asc" }, { y: "asc" }],
      });
      const url = `${app.url}/tiles/satellite/15/${row!.x}/${row!.y}`;
      const [a, b, latest] = await Promise.all([fetch(`${url}?date=${early}`), fetch(`${url}?date=${late}`), fetch(url)]);
      assert.deepEqual([a.status, b.status, latest.status], [200, 200, 200]);
      assert.notEqual(a.headers.get("etag"), b.headers.get("etag"), "two dates' pictures have their own ETags");
      assert.equal(latest.headers.get("etag"), b.headers.get("etag"), "no date: the latest date's tile");
      assert.equal(latest.headers.get("x-imagery-date"), late);
      assert.notDeepEqual(Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer()));
      const revalidate = await fetch(`${url}?date=${early}`, { headers: { "if-none-match": a.headers.get("etag")! } });
      assert.equal(revalidate.status, 304);
      const missing = await fetch(`${url}?date=2015-01-01`);
      assert.equal(missing.status, 404);
      const mj = (await missing.json()) as { error: { code: string; available?: string[] } };
      assert.equal(mj.error.code, ErrorCode.IMAGERY_DATE_NOT_FOUND);
      assert.deepEqual(mj.error.available, [late, early]);
      const bad = await fetch(`${url}?date=2015-02-30`);
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: string } }).error.code, ErrorCode.INVALID_DATE);
      const tj = (await (await fetch(`${app.url}/tiles/satellite.json?date=${early}`)).json()) as Record<string, any>;
      assert.equal(tj.date, early);
      assert.match(tj.tiles[0], new RegExp(`\\?date=${early}$`));
      assert.deepEqual([tj.minzoom, tj.maxzoom], [13, 15]);
      assert.deepEqual(
        tj.dates.map((d: { date: string }) => d.date),
        [late, early],
      );
    });

    test("area jobs work on a date's imagery: the date given, or the latest covering the region", async () => {
      const prepare = async (date?: string) => {
        const r = await gql(
          app,
          `mutation($date: String) { prepareArea(bbox: {west: -99.16, south: 47.012, east: -99.13, north: 47.03}, zoom: 14, date: $date) { id tilesTotal } }`,
          { date },
        );
        if (r.body.errors?.[0]?.extensions?.code === "MODEL_UNAVAILABLE") return undefined;
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        const { id, tilesTotal } = r.body.data.prepareArea;
        for (let i = 0; i < 600; i++) {
          const j = (await gql(app, `query($id: ID!) { areaJob(id: $id) { state tilesDone tilesWithoutImagery } }`, { id })).body.data
            .areaJob;
          if (j.state === "COMPLETED" || j.state === "FAILED") return { ...j, tilesTotal };
          await new Promise((res) => setTimeout(res, 100));
        }
        throw new Error(`area job ${id} did not finish`);
      };
      const rows = async (source: string) => app.db.prisma.tileAnalysis.count({ where: { source, z: 14 } });
      const early14 = await prepare(early);
      if (!early14) return; // no models in this checkout
      assert.equal(early14.state, "COMPLETED");
      assert.equal(await rows(`imported@${early}`), early14.tilesTotal - early14.tilesWithoutImagery);
      assert.equal(await rows(`imported@${late}`), 0, "another date's imagery is left alone");
      const latest = await prepare();
      assert.equal(latest!.state, "COMPLETED");
      assert.equal(
        await rows(`imported@${late}`),
        latest!.tilesTotal - latest!.tilesWithoutImagery,
        "no date: the latest date, as terrainFilter reads it",
      );
      assert.equal(await rows("imported"), 0, "not the undated source that the dates cover");
      const unknown = await gql(
        app,
        `mutation { prepareArea(bbox: {west: -99.16, south: 47.012, east: -99.13, north: 47.03}, zoom: 14, date: "2011-01-01") { id } }`,
      );
      assert.equal(unknown.body.errors?.[0]?.extensions?.code, ErrorCode.IMAGERY_DATE_NOT_FOUND);
    });

    test("analyses are keyed by date: each date computed once, the latest answers without a date", async () => {
      const q = `query($date: String) { landscape(lat: 47.02, lon: -99.147, zoom: 15, date: $date) { imageryDate cached terrain { terrain probability } image { url } } }`;
      const first = await gql(app, q, { date: early });
      if (first.body.errors?.[0]?.extensions?.code === "MODEL_UNAVAILABLE") return; // no models in this checkout
      assert.equal(first.body.errors, undefined, JSON.stringify(first.body.errors));
      const l1 = first.body.data.landscape;
      assert.equal(l1.imageryDate, early);
      assert.equal(l1.cached, false);
      assert.match(l1.image.url, new RegExp(`date=${early}`));
      const l2 = (await gql(app, q, { date: late })).body.data.landscape;
      assert.equal(l2.imageryDate, late);
      assert.equal(l2.cached, false, "another date's analysis is not reused");
      assert.notDeepEqual(l1.terrain, l2.terrain);
      const again = (await gql(app, q, { date: early })).body.data.landscape;
      assert.equal(again.cached, true);
      assert.deepEqual(again.terrain, l1.terrain);
      const undated = (await gql(app, q, {})).body.data.landscape;
      assert.equal(undated.imageryDate, late, "no date: the latest date covering the point");
      assert.equal(undated.cached, true);
      await app.flush(); // rows are written behind the answers
      const rows = await app.db.prisma.tileAnalysis.findMany({ where: { z: 15 }, select: { source: true } });
      assert.deepEqual([...new Set(rows.map((r) => r.source))].sort(), [`imported@${early}`, `imported@${late}`]);
      const img = await fetch(new URL(l1.image.url, app.url));
      assert.equal(img.status, 200);
      const bad = await gql(app, q, { date: "2014-7-20" });
      assert.equal(bad.body.errors?.[0]?.extensions?.code, ErrorCode.INVALID_DATE);
      const unknown = await gql(app, q, { date: "2011-01-01" });
      assert.equal(unknown.body.errors?.[0]?.extensions?.code, ErrorCode.IMAGERY_DATE_NOT_FOUND);
      assert.deepEqual(unknown.body.errors?.[0]?.extensions?.available, [late, early]);
      const filter = await gql(
        app,
        `{ terrainFilter(bbox: {west: -99.16, south: 47.012, east: -99.13, north: 47.03}, zoom: 15, date: "${early}", terrain: [${Object.keys(Terrain).join(", ")}], minConfidence: 0) { imageryDate totalCount } }`,
      );
      assert.equal(filter.body.errors, undefined, JSON.stringify(filter.body.errors));
      assert.equal(filter.body.data.terrainFilter.imageryDate, early);
    });
  });
}
