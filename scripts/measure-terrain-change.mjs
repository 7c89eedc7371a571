// Measures terrainChange through the service on two dates of mosaics written by
// trainer/make_change_tiles.py: per margin (minConfidence), precision and recall of the changed
// area (sampled at every 16 px cell centre; cells of one mosaic have equal area to within 0.01 %),
// how often the from → to pair is right, and the share of the jitter-only mosaics flagged as
// changed (false change from light and sensor alone).
// usage: npm run build && node scripts/measure-terrain-change.mjs OUT_DIR [thresholds, e.g. 0.5,0.6,0.7]
// (MODELS_DIR=... for other models; MIN_AREA=m² for minAreaSqm)
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { booleanPointInPolygon, bbox as turfBbox } from "@turf/turf";
import { startApp } from "../dist/src/app.js";
import { loadSettings } from "../dist/src/config/settings.js";
import { recordLayer } from "../dist/src/imagery/imagery-layers.js";
import { layerId } from "../dist/src/imagery/imagery-date.js";
import { TileStore } from "../dist/src/tiles/tile-store.js";
import { tileBBox } from "../dist/src/tiles/tile-math.js";

const dir = process.argv[2];
const margins = (process.argv[3] ?? "0.4,0.5,0.6,0.7,0.8").split(",").map(Number);
const truth = JSON.parse(readFileSync(path.join(dir, "truth.json"), "utf8"));
const app = await startApp(
  loadSettings({
    PORT: "0",
    HOST: "127.0.0.1",
    GROUNDVIEW_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "gv-change-")),
    TILE_SOURCE: "imported",
    SAMPLE_AREA: "off",
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "0",
    QUERY_MAX_COST: "100000000",
    ...(process.env.MODELS_DIR ? { MODELS_DIR: process.env.MODELS_DIR } : {}),
  }),
);
const DATES = { a: "2001-06-01", b: "2002-06-01" };
const store = new TileStore(app.db.prisma);
for (const [d, date] of Object.entries(DATES)) {
  const root = path.join(dir, d, "tiles");
  for (const z of readdirSync(root))
    for (const x of readdirSync(path.join(root, z)))
      for (const f of readdirSync(path.join(root, z, x))) {
        const key = { z: Number(z), x: Number(x), y: Number(f.split(".")[0]) };
        const bytes = readFileSync(path.join(root, z, x, f));
        await store.putAvailable(layerId("imported", date), key, {
          bytes,
          contentType: "image/jpeg",
          fetchedAt: new Date(),
          expiresAt: new Date("9999-12-31"),
          pinned: true,
        });
      }
  await recordLayer(app.db.prisma, "imported", date);
}
const Q = `query($bbox: BBoxInput!, $z: Int, $m: Float!, $a: Float!) { terrainChange(bbox: $bbox, zoom: $z, from: "${DATES.a}", to: "${DATES.b}", minConfidence: $m, minAreaSqm: $a, first: 1000) {
  totalCount changedSqm summary { areaSqm } changes { fromTerrain toTerrain geometry } } }`;
const results = [];
for (const margin of margins) {
  let tp = 0, fp = 0, fn = 0, pairRight = 0, jitterCells = 0, jitterFlagged = 0, sumMismatch = 0;
  const t0 = Date.now();
  for (const m of truth.mosaics) {
    const [w, , , n0] = tileBBox({ z: m.z, x: m.x0, y: m.y0 });
    const [, s, e] = tileBBox({ z: m.z, x: m.x0 + m.tiles - 1, y: m.y0 + m.tiles - 1 });
    const eps = 1e-7;
    const r = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: Q, variables: { bbox: { west: w + eps, south: s + eps, east: e - eps, north: n0 - eps }, z: m.z, m: margin, a: Number(process.env.MIN_AREA ?? 0) } }),
    });
    const body = await r.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    const c = body.data.terrainChange;
    sumMismatch = Math.max(sumMismatch, Math.abs(c.summary.reduce((a, x) => a + x.areaSqm, 0) - c.changedSqm));
    const polys = c.changes.map((x) => ({
      f: truth.classes.indexOf(x.fromTerrain.toLowerCase()),
      t: truth.classes.indexOf(x.toTerrain.toLowerCase()),
      g: x.geometry,
      b: turfBbox(x.geometry),
    }));
    const side = m.tiles * m.cells;
    for (let cy = 0; cy < side; cy++) {
      for (let cx = 0; cx < side; cx++) {
        const [cw, cs, ce, cn] = tileBBox({ z: m.z + 4, x: m.x0 * 16 + cx, y: m.y0 * 16 + cy });
        const pt = [(cw + ce) / 2, (cs + cn) / 2];
        const hit = polys.find((p) => pt[0] >= p.b[0] && pt[0] <= p.b[2] && pt[1] >= p.b[1] && pt[1] <= p.b[3] && booleanPointInPolygon(pt, p.g));
        const changed = m.a[cy][cx] !== m.b[cy][cx];
        if (!m.changed) {
          jitterCells++;
          if (hit) jitterFlagged++;
        }
        if (hit && changed) {
          tp++;
          if (hit.f === m.a[cy][cx] && hit.t === m.b[cy][cx]) pairRight++;
        } else if (hit) fp++;
        else if (changed) fn++;
      }
    }
  }
  results.push({
    minConfidence: margin,
    precision: +(tp / Math.max(1, tp + fp)).toFixed(4),
    recall: +(tp / Math.max(1, tp + fn)).toFixed(4),
    pairAccuracy: +(pairRight / Math.max(1, tp)).toFixed(4),
    falseChangeShareJitterOnly: +(jitterFlagged / Math.max(1, jitterCells)).toFixed(4),
    changedCellsTruth: tp + fn,
    summaryVsChangedSqmMaxDiff: sumMismatch,
    seconds: (Date.now() - t0) / 1000,
  });
  console.log(JSON.stringify(results.at(-1)));
}
await app.close();
