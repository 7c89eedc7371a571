/** End to end over HTTP with the real models: landscape, terrainFilter, similarPlaces, validatePhoto. */
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { bbox as bboxOf, distance, featureCollection, intersect, area as turfArea, polygon } from "@turf/turf";
import type { Polygon } from "geojson";
import sharp from "sharp";
import type { App } from "../src/app.js";
import { tileBoundsGeometry } from "../src/tiles/tile-math.js";
import { createTestDatabase, type TestDatabase } from "./helpers/databases.js";
import { makeTileDirectory } from "./helpers/fixtures.js";
import { gql, startTestApp } from "./helpers/app.js";
import { Terrain } from "../src/terrain/terrain.enum.js";

// 8x8 tiles at zoom 17 near 47.017N 99.16W (North Dakota).
const Z = 17;
const X0 = 29428;
const Y0 = 46088;
const N = 8;
const centre = (x: number, y: number) => {
  const b = tileBoundsGeometry({ z: Z, x, y }).coordinates[0];
  return { lon: (b[0][0] + b[1][0]) / 2, lat: (b[0][1] + b[2][1]) / 2 };
};

const LANDSCAPE = `query($lat: Float!, $lon: Float!) { landscape(lat: $lat, lon: $lon, zoom: ${Z}) {
  terrain { terrain probability } dominantTerrain latent image { url mimeType width height } modelVersion cached tile { z x y bounds } } }`;

async function upload(
  app: App,
  bytes: Buffer,
  filename: string,
  vars: { lat: number; lon: number },
  headers: Record<string, string> = { "apollo-require-preflight": "true" },
) {
  const form = new FormData();
  form.set(
    "operations",
    JSON.stringify({
      query: `mutation($photo: Upload!, $lat: Float!, $lon: Float!) { validatePhoto(photo: $photo, lat: $lat, lon: $lon, zoom: ${Z}) {
        score verdict explanation exifDistanceM exifLocation { lat lon } modelVersion
        expectedTerrain { terrain probability } expectedGroundTerrain { terrain probability } photoTerrain { terrain probability }
        reference { image { url width height } dominantTerrain } } }`,
      variables: { photo: null, ...vars },
    }),
  );
  form.set("map", JSON.stringify({ 0: ["variables.photo"] }));
  form.set("0", new Blob([bytes]), filename);
  const res = await fetch(`${app.url}/graphql`, { method: "POST", body: form, headers });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
}

async function photo(format: "jpeg" | "png", w = 640, h = 480): Promise<Buffer> {
  const svg = `<svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg"><rect width="${w}" height="${h / 2}" fill="#8ab6e8"/>
    <rect y="${h / 2}" width="${w}" height="${h / 2}" fill="#3f7a2e"/><circle cx="${w / 3}" cy="${h / 2}" r="${h / 5}" fill="#2d5a22"/></svg>`;
  const img = sharp(Buffer.from(svg));
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 85 }).toBuffer();
}

const metric = async (app: App, name: string, label: string) => {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{${label}\\} (\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
};

describe("GraphQL API with the real models", () => {
  let db: TestDatabase;
  let app: App;

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "gv-tiles-"));
    await makeTileDirectory(dir, Z, X0, Y0, N);
    db = await createTestDatabase("embedded");
    app = await startTestApp(db, {
      TILE_SOURCE: dir,
      TERRAIN_FILTER_MAX_TILES: "40",
      PHOTO_MAX_BYTES: "300000",
      PHOTO_MAX_PIXELS: "4000000",
    });
    assert.ok(app.models, app.modelError);
  });
  after(async () => {
    await app?.close();
    await db?.drop();
  });

  test("landscape: sorted terrain summing to 1, a decodable 128x128 image, cached the second time", async () => {
    const p = centre(X0 + 1, Y0 + 1);
    const first = await gql(app, LANDSCAPE, p);
    assert.equal(first.body.errors, undefined, JSON.stringify(first.body.errors));
    const l = first.body.data.landscape;
    assert.equal(l.cached, false);
    assert.deepEqual([l.tile.z, l.tile.x, l.tile.y], [Z, X0 + 1, Y0 + 1]);
    const probs = l.terrain.map((t: any) => t.probability);
    assert.ok(Math.abs(probs.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-4);
    assert.deepEqual(
      probs,
      [...probs].sort((a, b) => b - a),
    );
    assert.equal(l.dominantTerrain, l.terrain[0].terrain);
    assert.equal(l.latent.length, app.models?.analysis.models.manifest.models.generator.latentDim);
    const img = await fetch(l.image.url);
    assert.equal(img.status, 200);
    const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["png", 128, 128]);
    const etag = img.headers.get("etag") as string;
    assert.ok(etag.includes(l.modelVersion), "ETag bound to the model version");
    assert.equal((await fetch(l.image.url, { headers: { "if-none-match": etag } })).status, 304);
    const second = await gql(app, LANDSCAPE, p);
    assert.equal(second.body.data.landscape.cached, true);
    assert.deepEqual(second.body.data.landscape.latent, l.latent);
  });

  test("a concurrent burst on one uncached tile runs inference once", async () => {
    const before = await metric(app, "groundview_tile_analysis_lookups_total", 'result="computed"');
    const p = centre(X0 + 3, Y0 + 5);
    const res = await Promise.all(Array.from({ length: 12 }, () => gql(app, LANDSCAPE, p)));
    assert.ok(res.every((r) => !r.body.errors));
    assert.equal(new Set(res.map((r) => JSON.stringify(r.body.data.landscape.latent))).size, 1);
    assert.equal((await metric(app, "groundview_tile_analysis_lookups_total", 'result="computed"')) - before, 1);
    await app.models?.analysis.flush();
    const rows = await app.db.prisma.tileAnalysis.count({ where: { z: Z, x: X0 + 3, y: Y0 + 5 } });
    assert.equal(rows, 1);
  });

  test("terrainFilter: every terrain at minConfidence 0 covers the box exactly, in areas that do not overlap", async () => {
    const nw = tileBoundsGeometry({ z: Z, x: X0, y: Y0 }).coordinates[0];
    const se = tileBoundsGeometry({ z: Z, x: X0 + 4, y: Y0 + 4 }).coordinates[0];
    const eps = 1e-7;
    const bbox = { west: nw[0][0] + eps, north: nw[2][1] - eps, east: se[1][0] - eps, south: se[0][1] + eps };
    const q = `query($bbox: BBoxInput!, $terrain: [Terrain!]!, $min: Float) { terrainFilter(bbox: $bbox, terrain: $terrain, zoom: ${Z}, minConfidence: $min, first: 500) {
      totalCount zoom tilesAnalysed tilesComputed featureCollection edges { cursor node { terrain areaSqm meanConfidence tileCount cellCount geometry } } pageInfo { hasNextPage endCursor } } }`;
    const all = Object.keys(Terrain);
    const r = await gql(app, q, { bbox, terrain: all, min: 0 });
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const f = r.body.data.terrainFilter;
    assert.equal(f.tilesAnalysed, 25);
    assert.ok(f.totalCount >= 1);
    const nodes = f.edges.map((e: { node: { areaSqm: number; geometry: Polygon; terrain: string; tileCount: number } }) => e.node);
    const boxArea = turfArea(
      polygon([
        [
          [bbox.west, bbox.south],
          [bbox.east, bbox.south],
          [bbox.east, bbox.north],
          [bbox.west, bbox.north],
          [bbox.west, bbox.south],
        ],
      ]),
    );
    const sum = nodes.reduce((s: number, n: { areaSqm: number }) => s + n.areaSqm, 0);
    // PostGIS measures on the spheroid, turf on a sphere: within 0.5 % here.
    assert.ok(Math.abs(sum - boxArea) / boxArea < 5e-3, `areas add up to the box: ${sum} vs ${boxArea}`);
    for (const n of nodes) {
      assert.equal(n.geometry.type, "Polygon");
      assert.ok(n.tileCount >= 1 && n.tileCount <= 25);
      const [w, s, e, nn] = bboxOf(n.geometry);
      assert.ok(
        w >= bbox.west - 1e-8 && e <= bbox.east + 1e-8 && s >= bbox.south - 1e-8 && nn <= bbox.north + 1e-8,
        `clipped to the box: ${[w, s, e, nn]} vs ${JSON.stringify(bbox)}`,
      );
    }
    // Areas of different terrains never overlap (the grid gives each cell one terrain).
    for (let i = 0; i < Math.min(nodes.length, 12); i++)
      for (let j = i + 1; j < Math.min(nodes.length, 12); j++) {
        const both = intersect(featureCollection([polygon(nodes[i].geometry.coordinates), polygon(nodes[j].geometry.coordinates)]));
        assert.ok(!both || turfArea(both) < 1, `areas ${i} and ${j} overlap by ${both && turfArea(both)} m²`);
      }
    assert.equal(f.featureCollection.type, "FeatureCollection");
    assert.equal(f.featureCollection.features.length, nodes.length);
    const warm = await gql(app, q, { bbox, terrain: all, min: 0 });
    assert.equal(warm.body.data.terrainFilter.tilesComputed, 0, "the second run reuses stored results");
    assert.deepEqual(warm.body.data.terrainFilter.edges, f.edges, "and answers the same");
    // One terrain: a subset of the areas above.
    const t = nodes[0].terrain;
    const one = await gql(app, q, { bbox, terrain: [t], min: 0 });
    assert.equal(one.body.data.terrainFilter.totalCount, nodes.filter((n: { terrain: string }) => n.terrain === t).length);
    // A confidence floor keeps only pieces at or above it, so every area's mean is too.
    const sure = await gql(app, q, { bbox, terrain: all, min: 0.9 });
    const kept = sure.body.data.terrainFilter.edges.map((e: { node: { meanConfidence: number } }) => e.node.meanConfidence);
    assert.ok(
      kept.every((c: number) => c >= 0.9),
      JSON.stringify(kept),
    );
    const keptArea = sure.body.data.terrainFilter.edges.reduce((s: number, e: { node: { areaSqm: number } }) => s + e.node.areaSqm, 0);
    assert.ok(keptArea <= sum + 1);
  });

  test("terrainFilter: a box over the tile limit fails with BBOX_TOO_LARGE and the limit", async () => {
    const r = await gql(
      app,
      `{ terrainFilter(bbox: {west: -99.3, south: 46.9, east: -99.0, north: 47.1}, terrain: [WATER], zoom: ${Z}) { totalCount } }`,
    );
    assert.equal(r.body.errors?.[0].extensions.code, "BBOX_TOO_LARGE");
    assert.equal(r.body.errors?.[0].extensions.limit, 40);
    assert.ok(r.body.errors?.[0].extensions.tiles > 40);
    const bad = await gql(
      app,
      `{ terrainFilter(bbox: {west: -99.0, south: 46.9, east: -99.3, north: 47.1}, terrain: [WATER], zoom: ${Z}) { totalCount } }`,
    );
    assert.equal(bad.body.errors?.[0].extensions.code, "OUT_OF_RANGE");
  });

  test("similarPlaces: nearest analysed latents first, never the place itself", async () => {
    // Places with a landscape have a latent (terrainFilter's terrain-only analyses have none).
    for (let i = 0; i < 7; i++) assert.equal((await gql(app, LANDSCAPE, centre(X0 + 6, Y0 + i))).body.errors, undefined);
    const p = centre(X0 + 1, Y0 + 1);
    const r = await gql(
      app,
      `query($lat: Float!, $lon: Float!) { similarPlaces(lat: $lat, lon: $lon, zoom: ${Z}, first: 5) { lat lon distance dominantTerrain tile { x y } } }`,
      p,
    );
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const places = r.body.data.similarPlaces;
    assert.equal(places.length, 5);
    const d = places.map((s: any) => s.distance);
    assert.deepEqual(
      d,
      [...d].sort((a, b) => a - b),
    );
    assert.ok(!places.some((s: any) => s.tile.x === X0 + 1 && s.tile.y === Y0 + 1));
  });

  test("validatePhoto with a JPEG and a PNG: calibrated score, verdict, explanation, reference landscape", async () => {
    for (const fmt of ["jpeg", "png"] as const) {
      const r = await upload(app, await photo(fmt), `photo.${fmt}`, centre(X0 + 2, Y0 + 2));
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const v = r.body.data.validatePhoto;
      assert.ok(v.score >= 0 && v.score <= 1);
      assert.ok(["PLAUSIBLE", "SUSPICIOUS", "INCONCLUSIVE"].includes(v.verdict));
      assert.equal(v.photoTerrain.length, 10);
      assert.ok(Math.abs(v.photoTerrain.reduce((s: number, t: any) => s + t.probability, 0) - 1) < 1e-4);
      assert.match(v.explanation, /From the satellite/);
      assert.equal(v.exifDistanceM, null);
      assert.equal(v.reference.image.width, 128);
    }
  });

  test("validatePhoto honours EXIF orientation and reports the distance to the EXIF GPS position", async () => {
    const upright = await photo("jpeg", 480, 640);
    // Stored sideways with orientation 6 (rotate 90° clockwise to display): the same picture.
    const sideways = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const p = centre(X0 + 2, Y0 + 2);
    const a = (await upload(app, upright, "a.jpg", p)).body.data.validatePhoto;
    const b = (await upload(app, sideways, "b.jpg", p)).body.data.validatePhoto;
    for (const t of a.photoTerrain) {
      const other = b.photoTerrain.find((o: any) => o.terrain === t.terrain);
      assert.ok(Math.abs(other.probability - t.probability) < 0.02, `${t.terrain}: ${t.probability} vs ${other.probability}`);
    }
    const gps = await sharp(upright)
      .withExif({ IFD3: { GPSLatitudeRef: "N", GPSLatitude: "47/1 1/1 0/1", GPSLongitudeRef: "W", GPSLongitude: "99/1 10/1 0/1" } })
      .jpeg()
      .toBuffer();
    const c = (await upload(app, gps, "c.jpg", p)).body.data.validatePhoto;
    assert.ok(Math.abs(c.exifLocation.lat - (47 + 1 / 60)) < 1e-6 && Math.abs(c.exifLocation.lon + (99 + 10 / 60)) < 1e-6);
    const expected = distance([-(99 + 10 / 60), 47 + 1 / 60], [p.lon, p.lat], { units: "kilometers" }) * 1000;
    assert.ok(Math.abs(c.exifDistanceM - expected) < 1, `${c.exifDistanceM} vs ${expected}`);
    assert.match(c.explanation, /EXIF GPS/);
  });

  test("validatePhoto refuses truncated, non-image, oversized and unguarded uploads with codes", async () => {
    const p = centre(X0, Y0);
    const jpeg = await photo("jpeg");
    // What is stored before the refused uploads (the tile under the point analysed first).
    await gql(app, `{ landscape(lat: ${p.lat}, lon: ${p.lon}, zoom: ${Z}) { cached } }`);
    await app.models?.analysis.flush();
    const snapshot = () =>
      app.db.prisma.$queryRaw<{ tiles: number; tileHashes: string | null; analyses: number; analysisHashes: string | null }[]>`
        SELECT (SELECT count(*)::int FROM satellite_tile) AS tiles,
          (SELECT string_agg(content_hash, ',' ORDER BY source, z, x, y) FROM satellite_tile) AS "tileHashes",
          (SELECT count(*)::int FROM tile_analysis) AS analyses,
          (SELECT string_agg(coalesce(image_hash, '-'), ',' ORDER BY z, x, y, model_version) FROM tile_analysis) AS "analysisHashes"`;
    const before = await snapshot();
    assert.ok(before[0].tiles > 0 && before[0].analyses > 0);
    const truncated = await upload(app, jpeg.subarray(0, Math.floor(jpeg.length / 2)), "t.jpg", p);
    assert.equal(truncated.body.errors?.[0].extensions.code, "UNSUPPORTED_IMAGE");
    const text = await upload(app, Buffer.from("just some text, not a photo\n"), "notes.txt", p);
    assert.equal(text.body.errors?.[0].extensions.code, "UNSUPPORTED_IMAGE");
    const big = await upload(app, Buffer.concat([jpeg, Buffer.alloc(400_000)]), "big.jpg", p);
    assert.equal(big.body.errors?.[0].extensions.code, "PAYLOAD_TOO_LARGE");
    assert.equal(big.body.errors?.[0].extensions.limit, 300000);
    const huge = await sharp({ create: { width: 2500, height: 2000, channels: 3, background: "#777" } })
      .jpeg({ quality: 20 })
      .toBuffer();
    const pixels = await upload(app, huge, "huge.jpg", p);
    assert.equal(pixels.body.errors?.[0].extensions.code, "PAYLOAD_TOO_LARGE");
    const csrf = await upload(app, jpeg, "x.jpg", p, {});
    assert.equal(csrf.status, 400, "multipart without a preflight header is refused (CSRF)");
    assert.deepEqual(await snapshot(), before, "refused uploads leave the stored tiles and results as they were");
  });
});

describe("without models", () => {
  test("the tile service runs, /healthz is 503 and model queries answer MODEL_UNAVAILABLE", async () => {
    const db = await createTestDatabase("embedded");
    const dir = await mkdtemp(path.join(tmpdir(), "gv-tiles-"));
    await makeTileDirectory(dir, Z, X0, Y0, 1);
    const app = await startTestApp(db, { TILE_SOURCE: dir, MODELS_DIR: path.join(dir, "no-models") });
    try {
      assert.equal((await fetch(`${app.url}/healthz`)).status, 503);
      const r = await gql(app, LANDSCAPE, centre(X0, Y0));
      assert.equal(r.body.errors?.[0].extensions.code, "MODEL_UNAVAILABLE");
      assert.equal((await fetch(`${app.url}/tiles/satellite/${Z}/${X0}/${Y0}`)).status, 200);
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
