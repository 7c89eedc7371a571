/**
 * Terrain maps of any region (issue 13): terrainSummary and terrainFilter on GeoJSON areas, the
 * coded errors of bad areas, and the terrain vector tiles, on the embedded database (vector
 * tiles encoded in JavaScript: PGlite's PostGIS has no protobuf) and on server PostgreSQL
 * (ST_AsMVT) when TEST_DATABASE_URL is set.
 */
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { VectorTile } from "@mapbox/vector-tile";
import { area as turfArea, booleanWithin, buffer, polygon } from "@turf/turf";
import Pbf from "pbf";
import type { App } from "../src/app.js";
import { boxAreas } from "../src/terrain-map/box-areas.js";
import { type MergedArea, TerrainMapStore } from "../src/terrain-map/terrain-map.store.js";
import { tileBoundsGeometry } from "../src/tiles/tile-math.js";
import { createTestDatabase, MODES, skipReason, type TestDatabase } from "./helpers/databases.js";
import { makeTileDirectory } from "./helpers/fixtures.js";
import { gql, startTestApp } from "./helpers/app.js";
import { Terrain } from "../src/terrain/terrain.enum.js";

const Z = 17;
const X0 = 29428;
const Y0 = 46088;
const N = 6;
const corner = (x: number, y: number) => tileBoundsGeometry({ z: Z, x, y }).coordinates[0][3]; // north-west corner
const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

// An irregular pentagon over about 4 x 4 tiles of the 6 x 6 test grid.
const [w, n] = corner(X0 + 1, Y0 + 1);
const [e, s] = corner(X0 + 5, Y0 + 5);
const PARCEL = {
  type: "Polygon",
  coordinates: [
    [
      [lerp(w, e, 0.1), lerp(n, s, 0.2)],
      [lerp(w, e, 0.6), lerp(n, s, 0.05)],
      [lerp(w, e, 0.95), lerp(n, s, 0.45)],
      [lerp(w, e, 0.7), lerp(n, s, 0.95)],
      [lerp(w, e, 0.15), lerp(n, s, 0.8)],
      [lerp(w, e, 0.1), lerp(n, s, 0.2)],
    ],
  ],
};
const ALL = Object.keys(Terrain);
const SUMMARY = `query($area: JSONObject, $bbox: BBoxInput) { terrainSummary(area: $area, bbox: $bbox, zoom: ${Z}) {
  areaSqm classifiedSqm zoom tilesAnalysed tilesComputed terrains { terrain areaSqm share meanConfidence } } }`;
const FILTER = `query($area: JSONObject, $bbox: BBoxInput, $terrain: [Terrain!]!) { terrainFilter(area: $area, bbox: $bbox, terrain: $terrain, zoom: ${Z}, minConfidence: 0, first: 500) {
  totalCount edges { node { terrain areaSqm geometry } } } }`;

for (const mode of MODES) {
  describe(`terrain maps of any region (${mode})`, { skip: skipReason(mode) }, () => {
    let db: TestDatabase;
    let app: App;

    before(async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "gv-tiles-"));
      await makeTileDirectory(dir, Z, X0, Y0, N);
      db = await createTestDatabase(mode);
      app = await startTestApp(db, { TILE_SOURCE: dir, TERRAIN_FILTER_MAX_TILES: "40" });
      assert.ok(app.models, app.modelError);
    });
    after(async () => {
      await app?.close();
      await db?.drop();
    });

    test("what reads stored pieces waits for the rows a box's terrainFilter left to be written", async () => {
      const models = app.models!;
      const b = tileBoundsGeometry({ z: Z, x: X0 + 5, y: Y0 }).coordinates[0];
      const bbox = { west: b[0][0] + 1e-7, south: b[0][1] + 1e-7, east: b[1][0] - 1e-7, north: b[2][1] - 1e-7 };
      const region = await models.terrainMap.region({ bbox, zoom: Z });
      const stats = await models.terrainMap.analyseTiles(region.keys, { writeBehind: true });
      assert.equal(stats.tilesComputed, 1, "computed now, its row not yet written");
      // No await in between: the row is still queued (the writer coalesces for a few milliseconds).
      const summary = await models.terrainMap.summary(region);
      const sum = summary.terrains.reduce((a, t) => a + t.areaSqm, 0);
      assert.ok(sum > 0.99 * summary.clipAreaSqm, `the summary sees the tile's pieces (${sum} of ${summary.clipAreaSqm} m²)`);
    });

    test("terrainSummary of a drawn polygon: the terrains' areas add up to its area, shares to 1", async () => {
      const r = await gql(app, SUMMARY, { area: PARCEL });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const t = r.body.data.terrainSummary;
      const expected = turfArea(polygon(PARCEL.coordinates));
      // PostGIS measures on the spheroid, turf on a sphere: within 0.5 % here.
      assert.ok(Math.abs(t.areaSqm - expected) / expected < 5e-3, `region area ${t.areaSqm} vs turf ${expected}`);
      const sum = t.terrains.reduce((a: number, x: { areaSqm: number }) => a + x.areaSqm, 0);
      assert.ok(Math.abs(sum - t.areaSqm) / t.areaSqm < 0.01, `terrains add up to ${sum} of ${t.areaSqm}`);
      assert.ok(Math.abs(t.classifiedSqm - sum) < 1e-6 * expected);
      const shares = t.terrains.reduce((a: number, x: { share: number }) => a + x.share, 0);
      assert.ok(Math.abs(shares - 1) < 0.01, `shares add up to ${shares}`);
      for (let i = 1; i < t.terrains.length; i++) assert.ok(t.terrains[i - 1].areaSqm >= t.terrains[i].areaSqm, "largest first");
      assert.ok(t.tilesAnalysed >= 12 && t.tilesAnalysed <= 25);
      // A Feature is accepted as well as a bare geometry, and answers the same (now from stored results).
      const again = await gql(app, SUMMARY, { area: { type: "Feature", properties: {}, geometry: PARCEL } });
      assert.equal(again.body.data.terrainSummary.tilesComputed, 0);
      assert.deepEqual(again.body.data.terrainSummary.terrains, t.terrains);
    });

    test("terrainFilter on a parcel: areas inside the parcel that add up to it", async () => {
      const r = await gql(app, FILTER, { area: PARCEL, terrain: ALL });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const nodes = r.body.data.terrainFilter.edges.map(
        (x: { node: { areaSqm: number; geometry: { coordinates: number[][][] } } }) => x.node,
      );
      const parcel = polygon(PARCEL.coordinates);
      const grown = buffer(parcel, 0.5, { units: "meters" })!;
      for (const node of nodes) assert.ok(booleanWithin(polygon(node.geometry.coordinates), grown), "each area lies inside the parcel");
      const sum = nodes.reduce((a: number, x: { areaSqm: number }) => a + x.areaSqm, 0);
      const expected = turfArea(parcel);
      assert.ok(Math.abs(sum - expected) / expected < 0.015, `${sum} vs ${expected} (spheroid vs sphere, simplified outlines)`);
    });

    test("bad areas get coded errors that say what is wrong", async () => {
      const err = async (vars: Record<string, unknown>) => (await gql(app, SUMMARY, vars)).body.errors?.[0]?.extensions;
      const ring = PARCEL.coordinates[0];
      const bowTie = { type: "Polygon", coordinates: [[ring[0], ring[2], ring[1], ring[3], ring[0]]] };
      let x = await err({ area: bowTie });
      assert.deepEqual([x?.code, x?.problem], ["INVALID_GEOMETRY", "SELF_INTERSECTION"]);
      x = await err({ area: { type: "Polygon", coordinates: [ring.slice(0, -1)] } });
      assert.deepEqual([x?.code, x?.problem], ["INVALID_GEOMETRY", "NOT_CLOSED"]);
      x = await err({ area: { type: "Polygon", coordinates: [[ring[0], ring[1], ring[0]]] } });
      assert.deepEqual([x?.code, x?.problem], ["INVALID_GEOMETRY", "TOO_FEW_POSITIONS"]);
      x = await err({ area: { type: "Point", coordinates: ring[0] } });
      assert.deepEqual([x?.code, x?.problem], ["INVALID_GEOMETRY", "NOT_A_POLYGON"]);
      x = await err({
        area: {
          type: "Polygon",
          coordinates: [
            [
              [0, 0],
              [200, 0],
              [0, 1],
              [0, 0],
            ],
          ],
        },
      });
      assert.deepEqual([x?.code, x?.problem], ["INVALID_GEOMETRY", "BAD_COORDINATES"]);
      const big = {
        type: "Polygon",
        coordinates: [
          [
            [-99.3, 46.9],
            [-99.0, 46.9],
            [-99.0, 47.1],
            [-99.3, 46.9],
          ],
        ],
      };
      x = await err({ area: big });
      assert.equal(x?.code, "AREA_TOO_LARGE");
      assert.equal(x?.limit, 40);
      assert.ok((x?.tiles as number) > 40);
      x = await err({});
      assert.equal(x?.code, "BAD_USER_INPUT");
      x = await err({ area: PARCEL, bbox: { west: w, south: s, east: e, north: n } });
      assert.equal(x?.code, "BAD_USER_INPUT");
    });

    test("terrain maps analyse with the terrain classifier alone; a later landscape completes the row and keeps its pieces", async () => {
      const k = { z: Z, x: X0, y: Y0 + 5 };
      const b = tileBoundsGeometry(k).coordinates[0];
      const box = { west: b[0][0] + 1e-7, south: b[0][1] + 1e-7, east: b[1][0] - 1e-7, north: b[2][1] - 1e-7 };
      const t = await gql(app, SUMMARY, { bbox: box });
      assert.equal(t.body.data.terrainSummary.tilesComputed, 1);
      const row = () =>
        app.db.prisma.$queryRaw<{ latent: number[] | null; pieces: bigint }[]>`
          SELECT latent, (SELECT count(*) FROM terrain_piece p WHERE p.z = a.z AND p.x = a.x AND p.y = a.y AND p.model_version = a.model_version) AS pieces
          FROM tile_analysis a WHERE z = ${k.z} AND x = ${k.x} AND y = ${k.y}`;
      const [before] = await row();
      assert.equal(before.latent, null, "terrain-only: no latent");
      assert.ok(Number(before.pieces) >= 1);
      const centre = { lat: (b[0][1] + b[2][1]) / 2, lon: (b[0][0] + b[1][0]) / 2 };
      const l = await gql(
        app,
        `query($lat: Float!, $lon: Float!) { landscape(lat: $lat, lon: $lon, zoom: ${Z}) { cached latent image { url } } }`,
        centre,
      );
      assert.equal(l.body.errors, undefined, JSON.stringify(l.body.errors));
      assert.equal(l.body.data.landscape.cached, false, "the landscape had to be computed");
      assert.ok(l.body.data.landscape.latent.length > 0);
      assert.equal((await fetch(l.body.data.landscape.image.url)).status, 200);
      await app.models?.analysis.flush();
      const rows = await row();
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0].latent?.length, l.body.data.landscape.latent.length, "the row is completed");
      assert.equal(Number(rows[0].pieces), Number(before.pieces), "its pieces are written once");
      const again = await gql(app, SUMMARY, { bbox: box });
      assert.deepEqual(again.body.data.terrainSummary.terrains, t.body.data.terrainSummary.terrains);
      const [valid] = await app.db.prisma.$queryRaw<{ bad: bigint; n: bigint }[]>`
        SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)) AS bad, count(*) AS n FROM terrain_piece`;
      assert.ok(Number(valid.n) > 0);
      assert.equal(Number(valid.bad), 0, "every stored piece is a valid polygon");
    });

    test("/tiles/terrain/{z}/{x}/{y}.mvt decodes as a vector tile with one feature per terrain polygon", async () => {
      const k = { x: X0 + 2, y: Y0 + 2 };
      const b = tileBoundsGeometry({ z: Z, ...k }).coordinates[0];
      const eps = 1e-7;
      const box = { west: b[0][0] + eps, south: b[0][1] + eps, east: b[1][0] - eps, north: b[2][1] - eps };
      const res = await fetch(`${app.url}/tiles/terrain/${Z}/${k.x}/${k.y}.mvt`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/vnd.mapbox-vector-tile");
      const tile = new VectorTile(new Pbf(new Uint8Array(await res.arrayBuffer())));
      const layer = tile.layers.terrain;
      assert.ok(layer, "a terrain layer");
      assert.equal(layer.extent, 4096);
      const api = await gql(app, FILTER, { bbox: box, terrain: ALL });
      assert.equal(layer.length, api.body.data.terrainFilter.totalCount, "as many features as terrainFilter finds in the tile");
      const terrains = new Set<string>();
      for (let i = 0; i < layer.length; i++) {
        const f = layer.feature(i);
        assert.equal(f.type, 3, "polygons");
        terrains.add(String(f.properties.terrain));
        assert.ok(Number(f.properties.area_sqm) > 0 && Number(f.properties.confidence) > 0);
      }
      const apiTerrains = new Set(
        api.body.data.terrainFilter.edges.map((x: { node: { terrain: string } }) => x.node.terrain.toLowerCase()),
      );
      assert.deepEqual([...terrains].sort(), [...apiTerrains].sort());
      const etag = res.headers.get("etag") as string;
      assert.equal((await fetch(`${app.url}/tiles/terrain/${Z}/${k.x}/${k.y}.mvt`, { headers: { "if-none-match": etag } })).status, 304);
      // One zoom out: a tile over four analysed tiles.
      const up = await fetch(`${app.url}/tiles/terrain/${Z - 1}/${(X0 + 2) / 2}/${(Y0 + 2) / 2}.mvt`);
      assert.equal(up.status, 200);
      assert.ok(new VectorTile(new Pbf(new Uint8Array(await up.arrayBuffer()))).layers.terrain.length >= 1);
      const tj = (await (await fetch(`${app.url}/tiles/terrain.json`)).json()) as {
        tilejson: string;
        tiles: string[];
        vector_layers: { id: string }[];
      };
      assert.equal(tj.tilejson, "3.0.0");
      assert.match(tj.tiles[0], /\/tiles\/terrain\/\{z\}\/\{x\}\/\{y\}\.mvt$/);
      assert.equal(tj.vector_layers[0].id, "terrain");
      assert.equal((await fetch(`${app.url}/tiles/terrain/${Z}/99999999/1.mvt`)).status, 400);
    });

    test("a box's areas merged from the grids are the areas PostGIS merges from the stored pieces", async () => {
      const models = app.models!;
      const store = new TerrainMapStore(app.db.prisma);
      await store.init();
      const classes = models.analysis.models.manifest.models.terrainClassifier.classes;
      // Tiles X0+1..X0+4 and rows Y0..Y0+3 (the tile of the terrain-only test, in row Y0+5, stays unanalysed).
      const [gw, gn] = corner(X0 + 1, Y0);
      const [ge, gs] = corner(X0 + 5, Y0 + 4);
      const boxes: [number, number, number, number][] = [
        [gw + 1e-6, gs + 1e-6, ge - 1e-6, gn - 1e-6], // tile edges just inside (the bench's boxes)
        [gw, gs, ge, gn], // exactly on tile edges
        [lerp(gw, ge, 0.13), lerp(gs, gn, 0.21), lerp(gw, ge, 0.77), lerp(gs, gn, 0.93)], // through cells
        [lerp(gw, ge, 0.4), lerp(gs, gn, 0.4), lerp(gw, ge, 0.47), lerp(gs, gn, 0.45)], // inside one tile
      ];
      const key = (a: MergedArea) => [a.terrain, Math.round(a.areaSqm), a.meanConfidence, a.cellCount, a.tileCount];
      const order = (xs: MergedArea[]) => [...xs].sort((p, q) => String(key(p)).localeCompare(String(key(q))));
      let compared = 0;
      for (const [bw, bs, be, bn] of boxes) {
        const region = await models.terrainMap.region({ bbox: { west: bw, south: bs, east: be, north: bn }, zoom: Z });
        const stats = await models.terrainMap.analyseTiles(region.keys);
        for (const [terrains, minConfidence, minAreaSqm] of [
          [ALL.map((t) => t.toLowerCase()), 0, 0],
          [["forest", "water", "field", "grass"], 0.4, 0],
          [classes, 0.2, 2000],
        ] as [string[], number, number][]) {
          const sql = order(await store.areas(region.scope, region.area.json, terrains, minConfidence, minAreaSqm));
          const js = order(
            boxAreas({ ...region.scope, grids: stats.grids, box: [bw, bs, be, bn], classes, terrains, minConfidence, minAreaSqm }),
          );
          assert.equal(js.length, sql.length, `as many areas (box ${[bw, bs, be, bn]}, ${terrains}, ${minConfidence})`);
          for (let i = 0; i < js.length; i++) {
            const [a, b] = [js[i], sql[i]];
            assert.deepEqual([a.terrain, a.cellCount, a.tileCount], [b.terrain, b.cellCount, b.tileCount]);
            assert.ok(Math.abs(a.meanConfidence - b.meanConfidence) < 1e-9);
            // Parallels as edges here, geodesics in PostGIS: within 0.1 % on polygons of a few km.
            assert.ok(Math.abs(a.areaSqm - b.areaSqm) <= 1e-3 * b.areaSqm, `${a.areaSqm} vs ${b.areaSqm}`);
            assert.ok(Math.abs(turfArea(a.geometry as never) - turfArea(b.geometry as never)) <= 1e-6 * b.areaSqm + 1, "the same outline");
            compared++;
          }
        }
      }
      assert.ok(compared > 30, `${compared} areas compared`);
    });
  });
}
